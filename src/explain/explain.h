/* Internal header of explain/ (not installed). */
#ifndef BP_EXPLAIN_H
#define BP_EXPLAIN_H

#include <stdio.h>

#include "backprop.h"

/* All the words of the explanations, one table per language (lang.c), so a
 * translation is one place to edit.  Fields ending in _fmt are printf
 * formats whose conversions are described beside them; every language must
 * keep the same conversions in the same order. */
typedef struct bp_words {
    const char *code;        /* "en", "zh" */
    /* step: text and Markdown */
    const char *title;       /* "One step of backpropagation" */
    const char *net_text_fmt, *net_md_fmt; /* %d: number of inputs */
    const char *layer_fmt;   /* %d units, %s activation, %s role, %s bias note */
    const char *outputs, *hidden, *bias;   /* role words and the bias note */
    const char *loss_text_fmt, *loss_md_fmt; /* %s loss name, %g learning rate */
    const char *inputs_text, *inputs_md, *expected_text, *expected_md;
    const char *scaled_text, *scaled_md; /* before the raw inputs of a scaled model */
    const char *forward;     /* "Forward propagation" */
    const char *layer_title_fmt; /* %s Hidden/Output, %s " 2" for the 2nd hidden layer */
    const char *Output, *Hidden;
    const char *error;       /* "Error" */
    const char *mse_text, *mse_md, *xent_text, *xent_md, *bce_text, *bce_md;
    const char *backprop_fmt; /* %s output/hidden, %s " 2" */
    const char *output_lc, *hidden_lc;
    const char *result;      /* "Result: the updated weights" */
    const char *more_text_fmt, *more_md_fmt; /* %zu weights */
    /* step: HTML only */
    const char *html_title;  /* <title>, %s: architecture "2-3-2" */
    const char *intro;       /* first paragraph */
    const char *figure_caption;
    const char *hint;        /* how to use the highlighting */
    const char *setup;       /* heading of the set-up (inputs, targets) */
    const char *chain_rule;  /* paragraph before the chain-rule formula */
    const char *update_rule; /* paragraph before the first output weight's update */
    const char *repeat;      /* "And then repeat" */
    const char *repeat_text_fmt; /* %d steps */
    const char *step_col, *error_col, *change_col;
    const char *closing;     /* closing paragraph */
    /* draw (SVG) */
    const char *svg_input, *svg_output, *svg_hidden; /* column headings */
    const char *svg_forward, *svg_update;            /* notes under the title */
    const char *svg_positive, *svg_negative, *svg_width;
} bp_words;

/* The table for `lang` ("en", "zh"; NULL means "en"), or NULL if unknown. */
const bp_words *bp_words_find(const char *lang);

/* Checks and copies the caller's options (NULL: defaults) into *out and
 * finds the words; BP_ERR_ARG naming `fn` on a bad size or language. */
bp_status bp_explain_options_take(const bp_explain_options *opt, const char *fn,
                                  bp_explain_options *out, const bp_words **words);

/* The drawing of svg.c written to `fp`.  `x` is the input the forward pass
 * uses (already scaled); `raw` the unscaled input shown beside it (NULL: not
 * shown).  `embedded`: no XML prolog, and the elements carry data-k /
 * data-ends / tabindex attributes for the lesson's highlighting script. */
bp_status bp_svg_write(FILE *fp, const bp_net *net, const float *x, const float *raw,
                       const bp_net *updated, const char *highlight, const bp_words *w,
                       int embedded);

/* One formula of the text trace (e.g. "δo1 = (a_o1 − expected1)·… = -0.0984")
 * written as a block: MathML, then the text itself as a plain fallback line;
 * data-refs lists the weights and neurons it mentions. */
void bp_html_formula(FILE *fp, const char *text);
/* The lesson's page up to the derivation (head, styles, title, figure, the
 * sample), and from the updated weights on ("and then repeat": `steps` more
 * steps of `net` on the same sample, the closing words, the script). */
bp_status bp_html_begin(FILE *fp, const bp_words *w, const bp_net *old, const bp_net *updated,
                        const float *input, const float *raw, const float *target, float lr);
bp_status bp_html_end(FILE *fp, const bp_words *w, const bp_net *net, const float *input,
                      const float *target, float lr, int steps, float first_loss);
/* The one XML/HTML text escaper (html.c, svg.c, plot.c): writes s with
 * & < > " escaped.  The callers differ on purpose, so the differences are
 * flags: BP_XML_APOS also escapes ' (svg.c, whose attributes may be quoted
 * either way); BP_XML_CLEAN turns control characters and bytes that are not
 * UTF-8 into '?' (plot.c: titles come from file names, which may hold
 * anything).  Each caller keeps the bytes it wrote before. */
#define BP_XML_APOS 1u
#define BP_XML_CLEAN 2u
void bp_xml_escape(FILE *fp, const char *s, unsigned flags);
/* bp_xml_escape with no flags: & < > " escaped. */
void bp_html_escape(FILE *fp, const char *s);

#endif
