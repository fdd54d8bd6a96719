/* Internal header of explain/ (not installed). */
#ifndef BP_EXPLAIN_H
#define BP_EXPLAIN_H

#include <stdio.h>

#include "backprop.h"

#endif
