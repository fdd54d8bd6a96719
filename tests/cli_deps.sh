#!/bin/sh
# tools/deps.sh (run by `make check` and `make run`): silent when everything
# is there; names the missing package and the exact command, or installs it
# with apt-get when root.  A stub compiler that "lacks" cmocka and a stub
# apt-get stand in for a fresh machine, so nothing is really installed.
TEST=cli_deps; . "$(dirname "$0")/lib.sh"
REAL_CC=${CC:-cc}

if sh tools/deps.sh --check >"$T/out" 2>&1 && [ ! -s "$T/out" ]; then ok; else
    bad "deps.sh --check on this machine"; cat "$T/out"; fi

# A plain `make` builds the library and the command (the first rule is `all`),
# not only the dependency check.
goal=$(${MAKE:-make} -pn -f Makefile 2>/dev/null | sed -n 's/^\.DEFAULT_GOAL := //p')
if [ "$goal" = all ]; then ok; else bad "plain make's goal is '$goal', not 'all'"; fi

# A compiler that cannot find cmocka.h.
cat >"$T/cc" <<STUB
#!/bin/sh
for a in "\$@"; do
    case \$a in *.c) if grep -q cmocka.h "\$a"; then echo "cmocka.h: No such file or directory" >&2; exit 1; fi ;; esac
done
exec $REAL_CC "\$@"
STUB
chmod +x "$T/cc"
CC="$T/cc" sh tools/deps.sh --check >"$T/out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -qF "missing: libcmocka-dev; install with: apt-get install -y libcmocka-dev" "$T/out"; then
    ok; else bad "--check without cmocka: exit $rc"; cat "$T/out"; fi
# cmocka in a place of its own, named by CPPFLAGS/LDFLAGS as make would pass
# them: the check must look there too, not install a second copy.
cat >"$T/cc2" <<STUB
#!/bin/sh
seen=0
for a in "\$@"; do [ "\$a" = "-I$T/inc" ] && seen=1; done
for a in "\$@"; do
    case \$a in *.c) if [ \$seen = 0 ] && grep -q cmocka.h "\$a"; then echo "cmocka.h: No such file or directory" >&2; exit 1; fi ;; esac
done
exec $REAL_CC "\$@"
STUB
chmod +x "$T/cc2"
if CC="$T/cc2" CPPFLAGS="-I$T/inc" sh tools/deps.sh --check >"$T/out" 2>&1; then ok; else
    bad "deps.sh ignores CPPFLAGS"; cat "$T/out"; fi

if CC="$T/cc" sh tools/deps.sh --check run >"$T/out" 2>&1; then ok; else
    bad "make run does not need cmocka"; cat "$T/out"; fi

# Not --check: installs with (stub) apt-get as root, else prints the command.
cat >"$T/apt-get" <<'STUB'
#!/bin/sh
echo "$*" >>"$APT_LOG"
STUB
chmod +x "$T/apt-get"
APT_LOG="$T/apt.log" CC="$T/cc" DEPS_APT="$T/apt-get" sh tools/deps.sh >"$T/out" 2>&1
rc=$?
if [ "$(id -u)" -eq 0 ]; then
    # The stub installs nothing, so the re-check after it still fails.
    if grep -qx "install -y libcmocka-dev" "$T/apt.log" && grep -qF "running:" "$T/out" &&
        [ "$rc" -eq 1 ]; then ok; else bad "root: apt-get not run as expected (exit $rc)"; cat "$T/out" "$T/apt.log"; fi
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "cli_deps: passwordless sudo here; the install path is not exercised"
else
    if [ "$rc" -eq 1 ] && grep -qF "sudo apt-get install -y libcmocka-dev" "$T/out" && [ ! -e "$T/apt.log" ]; then
        ok; else bad "non-root: expected the exact command (exit $rc)"; cat "$T/out"; fi
fi

# The optional test packages: installed (stub) for `make check` as root when a
# Python module is missing; a failed install is not an error.
if [ "$(id -u)" -eq 0 ]; then
    APT_LOG="$T/apt3.log" DEPS_PYTHON=/bin/false DEPS_APT="$T/apt-get" sh tools/deps.sh check >"$T/out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q "^install -y --no-install-recommends python3-numpy python3-sklearn python3-onnx python3-torch" "$T/apt3.log"; then
        ok; else bad "optional packages not installed as expected (exit $rc)"; cat "$T/out" "$T/apt3.log"; fi
    APT_LOG="$T/apt4.log" BACKPROP_DEPS_OPTIONAL=0 DEPS_PYTHON=/bin/false DEPS_APT="$T/apt-get" sh tools/deps.sh check >/dev/null 2>&1
    [ ! -e "$T/apt4.log" ] && ok || bad "BACKPROP_DEPS_OPTIONAL=0 still installed"
fi

# The Makefile calls it before building anything.
if APT_LOG="$T/apt2.log" DEPS_APT="$T/apt-get" make -n check CC="$T/cc" >"$T/out" 2>&1; then bad "make check went on without cmocka"; else
    grep -qF "libcmocka-dev" "$T/out" && ok || { bad "make check did not say what is missing"; cat "$T/out"; }
fi

echo "cli_deps: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
