# Shared set-up of the CLI tests (not a test itself: tests/run.sh runs
# tests/cli_*.sh).  A test sets TEST to its name, then sources this file:
#   TEST=cli_json; . "$(dirname "$0")/lib.sh"
# It gets BP (the command), PY (Debian's Python), a temporary directory T
# removed at exit, the counters pass/fail and these checks.
B=${BUILD:-build}
BP="$B/backprop"
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "$TEST: FAIL: $*"; }
expect_rc() { # expected-rc description command...
    want=$1; what=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, expected $want"; cat "$T/err"; fi
}
contains() { # file text description (on failure: the file's first lines)
    if grep -qF -- "$2" "$1"; then ok; else
        bad "$3: missing '$2'"; sed -n '1,20s/^/    /p' "$1"; fi
}
lacks() { # file text description
    if grep -qF -- "$2" "$1"; then bad "$3: has '$2'"; else ok; fi
}
