#!/bin/sh
# Makes sure what `make check` / `make run` need to build is installed: a C
# compiler, zlib's header and library, and (for the tests) cmocka's.  Each is
# checked by compiling a one-line program, so nothing is installed when it is
# already there.  What is missing is installed with apt-get when we are root
# or have passwordless sudo (printing the command); otherwise the exact
# command is printed and the script fails.
#
#   tools/deps.sh [--check] [run|check]
#     run    what `make run` needs (compiler, zlib)
#     check  that plus cmocka (default)
#     --check  only report; never install (exit 1 when something is missing)
# Environment: CC (default cc), DEPS_APT (default apt-get; tests use a stub).
set -u
CC=${CC:-cc}
APT=${DEPS_APT:-apt-get}
check_only=0
target=check
for a in "$@"; do
    case $a in
    --check) check_only=1 ;;
    run | check) target=$a ;;
    *) echo "tools/deps.sh: unknown argument '$a' (expected --check, run or check)" >&2; exit 2 ;;
    esac
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# compiles_with HEADER LIB: a program including HEADER links with LIB.
compiles_with() {
    printf '#include <stddef.h>\n#include <stdarg.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <%s>\nint main(void) { return 0; }\n' "$1" >"$tmp/t.c"
    # shellcheck disable=SC2086 # the flags are lists
    "$CC" ${CPPFLAGS:-} ${CFLAGS:-} "$tmp/t.c" -o "$tmp/t" ${LDFLAGS:-} $2 >/dev/null 2>&1
}

missing=""
if ! command -v "$CC" >/dev/null 2>&1; then
    missing="$missing build-essential"
else
    compiles_with stdio.h "" || missing="$missing build-essential"
    compiles_with zlib.h -lz || missing="$missing zlib1g-dev"
    if [ "$target" = check ]; then
        compiles_with cmocka.h -lcmocka || missing="$missing libcmocka-dev"
    fi
fi

# What the rest of the suite uses when it is there (each test that needs one
# says so in one line and skips without it): Python with numpy, scikit-learn,
# onnx and torch, Chromium for the lesson's browser test, Fashion-MNIST, groff
# for the man page checks, OpenMPI for the multi-process CLI and its test
# (installed before the Makefile looks for mpicc, so this build uses it).  For `make check`, as root or with passwordless
# sudo, they are installed too (BACKPROP_DEPS_OPTIONAL=0 skips this); a failed
# install only means those tests skip.
optional_missing() {
    py=${DEPS_PYTHON:-/usr/bin/python3}
    for m in numpy:python3-numpy sklearn:python3-sklearn onnx:python3-onnx torch:python3-torch; do
        "$py" -c "import ${m%%:*}" >/dev/null 2>&1 || printf ' %s' "${m#*:}"
    done
    command -v chromium >/dev/null 2>&1 || printf ' chromium'
    [ -d /usr/share/datasets/fashion-mnist ] || printf ' dataset-fashion-mnist'
    command -v groff >/dev/null 2>&1 || printf ' groff-base'
    command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 ||
        printf ' libopenmpi-dev openmpi-bin'
}
install_optional() {
    [ "$target" = check ] && [ "$check_only" -eq 0 ] && [ "${BACKPROP_DEPS_OPTIONAL:-1}" != 0 ] || return 0
    command -v "$APT" >/dev/null 2>&1 || return 0
    if [ "$(id -u)" -eq 0 ]; then s=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then s="sudo "
    else return 0; fi
    opt=$(optional_missing)
    [ -n "$opt" ] || return 0
    echo "tools/deps.sh: for the optional tests:$opt; running: ${s}$APT update; ${s}$APT install -y$opt"
    ${s}"$APT" update >/dev/null 2>&1
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive ${s}"$APT" install -y --no-install-recommends $opt ||
        echo "tools/deps.sh: that install failed; the tests that need them will say they skip"
}

if [ -z "$missing" ]; then
    install_optional
    exit 0
fi

cmd="apt-get install -y$missing"
if [ "$check_only" -eq 1 ]; then
    echo "tools/deps.sh: missing:$missing; install with: $cmd" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    sudo="sudo "
else
    echo "tools/deps.sh: missing:$missing" >&2
    echo "tools/deps.sh: install them with:  sudo $cmd   (then run make again)" >&2
    exit 1
fi
if ! command -v "$APT" >/dev/null 2>&1; then
    echo "tools/deps.sh: missing:$missing, and there is no apt-get here; install the" >&2
    echo "tools/deps.sh: equivalent packages (a C compiler, zlib and cmocka development files)" >&2
    exit 1
fi
echo "tools/deps.sh: missing:$missing; running: ${sudo}$APT update; ${sudo}$cmd"
export DEBIAN_FRONTEND=noninteractive
# A failed update (offline, stale mirror) need not stop the install from the cache.
${sudo}"$APT" update || echo "tools/deps.sh: '$APT update' failed; trying the install anyway"
# shellcheck disable=SC2086
if ! ${sudo}"$APT" install -y $missing; then
    echo "tools/deps.sh: '${sudo}$cmd' failed; install the packages and run make again" >&2
    exit 1
fi
# Installed: check again, so a package that did not provide the file is reported.
sh "$0" --check "$target" || exit 1
install_optional
exit 0
