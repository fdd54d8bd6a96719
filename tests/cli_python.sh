#!/bin/sh
# The Python package (python/backprop) over the freshly built libbackprop.so:
# every python/tests/test_*.py under Debian's /usr/bin/python3, then
# `make install` puts an importable package beside the library.  Skipped
# (one line) without python3 + numpy, and in the sanitizer build (an
# ASan-instrumented .so cannot be loaded into an uninstrumented python3).
TEST=cli_python; . "$(dirname "$0")/lib.sh"
PY=${PYTHON:-/usr/bin/python3}
if [ -n "${SAN_FLAGS:-}" ]; then
    echo "cli_python: 0 passed, 0 failed, 1 skipped (sanitizer build)"
    exit 0
fi
if [ ! -x "$PY" ] || ! "$PY" -c "import numpy" 2>/dev/null; then
    echo "cli_python: 0 passed, 0 failed, 1 skipped ($PY with numpy not found: apt-get install python3-numpy python3-sklearn)"
    exit 0
fi
export BACKPROP_LIB="$PWD/$B/libbackprop.so" BACKPROP_CLI="$PWD/$B/backprop" PYTHONDONTWRITEBYTECODE=1
for t in python/tests/test_*.py; do
    if "$PY" "$t" >"$T/out" 2>&1; then
        ok
    else
        bad "$t"; cat "$T/out"
    fi
done
# The README's Python example runs as printed.
awk '/^```python$/{on=1; next} /^```$/{if (on) exit} on' README.md >"$T/readme.py"
if [ -s "$T/readme.py" ] && PYTHONPATH=python "$PY" "$T/readme.py" >"$T/out" 2>&1 &&
    grep -q "setosa" "$T/out"; then
    ok
else
    bad "the README's Python example"; cat "$T/out"
fi
"$PY" -c "import sklearn" 2>/dev/null || echo "cli_python: note: python3-sklearn not installed, estimator checks skipped"

# make install: the package imports from its site directory and loads the
# installed library (recorded at install time), with no BACKPROP_LIB.
if make -s install PREFIX="$T/usr" >"$T/log" 2>&1; then
    site=$(ls -d "$T"/usr/lib/python3*/dist-packages 2>/dev/null | head -n 1)
    if (cd "$T" && env -u BACKPROP_LIB PYTHONPATH="$site" "$PY" -c "
import backprop, numpy as np
assert backprop.LIBRARY_PATH == '$T/usr/lib/libbackprop.so.0', backprop.LIBRARY_PATH
net = backprop.Net(2, [(3, 'tanh'), (1, 'linear')])
assert net.predict(np.zeros(2, dtype=np.float32)).shape == (1,)
") >"$T/out" 2>&1; then
        ok
    else
        bad "the installed package"; cat "$T/out"
    fi
else
    bad "make install"; cat "$T/log"
fi
echo "cli_python: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
