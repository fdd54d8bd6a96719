# bench/torch_settings.sh — PyTorch's settings for bench/run.sh's sweep (sourced, not run).
# Needs: PY (the python with torch), NCPU, OUT (bench/out), a `run LOG CMD…` function, and
# BLAS_NOTES (appended to: one line per BLAS library found, for the report).
# Debian's torch does its fp32 GEMMs in whichever libblas.so.3 the loader finds, so the BLAS
# library is a setting too: the system's (update-alternatives) and every other optimised one
# installed, put first with LD_LIBRARY_PATH (what update-alternatives --set would do).
# bench/out/settings.txt: "LABEL DIR NAME TORCH_THREADS BLAS_THREADS CORETYPE" per line
# (DIR "-": the system's; BLAS_THREADS "-": a BLAS without a thread knob; CORETYPE "auto":
# OpenBLAS detects the CPU itself, "-": not OpenBLAS).
blas_name() { # PATH of a libblas.so.3 → a short name: openblas-pthread, blis-openmp, netlib …
    d=$(basename "$(dirname "$1")")
    [ "$d" = blas ] && d=netlib
    echo "$d"
}
# openblas_core PATH → the core OpenBLAS picks on this CPU when not told; nothing if PATH is not
# OpenBLAS (Debian's libblas.so.3 of OpenBLAS is a shim over libopenblas.so.0: ask the loader)
openblas_core() {
    "$PY" -c 'import ctypes, sys
l = ctypes.CDLL(sys.argv[1]); l.openblas_get_corename.restype = ctypes.c_char_p
print(l.openblas_get_corename().decode())' "$1" 2>/dev/null
}
# The OPENBLAS_CORETYPE values that suit this CPU (its widest FMA); the bench tries each that
# differs from what OpenBLAS detects by itself.
suited_coretypes() {
    if [ -n "${BENCH_CORETYPES:-}" ]; then echo "$BENCH_CORETYPES"; return; fi
    case " $(grep -m1 '^flags' /proc/cpuinfo) " in
    *" avx512f "*) echo SkylakeX ;;
    *" avx2 "*) if grep -q -m1 AuthenticAMD /proc/cpuinfo; then echo Zen Haswell; else echo Haswell; fi ;;
    esac
}
add_settings() { # DIR PATH: the settings of one libblas.so.3
    name=$(blas_name "$2")
    det=$(openblas_core "$2")
    TVALS=1
    [ "$NCPU" -gt 1 ] && TVALS="1 $NCPU"
    if [ -n "$det" ]; then
        BLAS_NOTES="$BLAS_NOTES
- $name ($(readlink -f "$2")): OpenBLAS, detects this CPU as **$det**"
        cores=auto
        for c in $(suited_coretypes); do
            echo "$det" | grep -qix "$c" || cores="$cores $c"
        done
        for c in $cores; do for t in $TVALS; do for b in $TVALS; do
            echo "$name:t$t:b$b:$c $1 $name $t $b $c"
        done; done; done
    else
        BLAS_NOTES="$BLAS_NOTES
- $name ($(readlink -f "$2")): not OpenBLAS; only torch's threads vary"
        [ "$name" = netlib ] && BLAS_NOTES="$BLAS_NOTES — **the reference BLAS, the only one
  installed: PyTorch's GEMMs run ~25× below an optimised BLAS's, so this anchor is weak; install
  libopenblas0-pthread (or pass BENCH_BLAS_DIRS) for an honest one**"
        for t in $TVALS; do echo "$name:t$t $1 $name $t - -"; done
    fi
}
make_settings() {
    ldc=$(command -v ldconfig || echo /sbin/ldconfig) # not on a user's PATH everywhere
    sys=$("$ldc" -p 2>/dev/null | awk '/libblas\.so\.3 / { print $NF; exit }')
    sysrp=$(readlink -f "${sys:-/nonexistent}")
    seen=" $sysrp "
    others=""
    for d in $(echo "${BENCH_BLAS_DIRS:-}" | tr ':' ' ') /usr/lib/*/openblas-* /usr/lib/*/blis-*; do
        [ -f "$d/libblas.so.3" ] || continue
        rp=$(readlink -f "$d/libblas.so.3")
        case "$seen" in *" $rp "*) continue ;; esac
        seen="$seen$rp "
        others="$others $d"
    done
    if [ -n "$sys" ] && { [ -z "$others" ] || [ "$(blas_name "$sysrp")" != netlib ]; }; then
        add_settings - "$sysrp"
    elif [ -n "$sys" ]; then
        BLAS_NOTES="$BLAS_NOTES
- netlib ($sysrp, the system's libblas.so.3, the reference BLAS): not swept — an optimised BLAS is
  installed and the reference one runs these GEMMs ~25× slower; PyTorch as installed uses it"
    fi
    for d in $others; do add_settings "$d" "$d/libblas.so.3"; done
}
# torch_at LOG LABEL SCRIPT [ARGS…]: run a PyTorch script (threads first) at setting LABEL
torch_at() {
    tlog=$1; tlab=$2; shift 2
    # shellcheck disable=SC2046 # the setting's six fields, none with spaces
    set -- $(grep "^$tlab " "$OUT/settings.txt") "$@"
    tdir=$2; tt=$4; tb=$5; tc=$6; shift 6
    [ "$tb" = - ] && tb=$tt
    tenv="-u OPENBLAS_CORETYPE"
    case "$tc" in auto | -) ;; *) tenv="OPENBLAS_CORETYPE=$tc" ;; esac
    [ "$tdir" != - ] && tenv="$tenv LD_LIBRARY_PATH=$tdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    script=$1; shift
    # shellcheck disable=SC2086 # tenv is a list of env arguments without spaces
    run "$tlog" env $tenv BENCH_SETTING="$tlab" BLAS_THREADS="$tb" "$PY" "$script" "$tt" "$@"
}
# medians TAG FIELD LOG: "LABEL median" of FIELD per setting, fastest first
medians() {
    grep "^$1 " "$3" 2>/dev/null | sed -n "s/.*setting=\([^ ]*\) .* $2=\([^ ]*\).*/\1 \2/p" | sort -k1,1 -k2,2g |
        awk 'function m() { return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
             { if ($1 != l) { if (n) print l, m(); l = $1; n = 0 } v[++n] = $2 }
             END { if (n) print l, m() }' | sort -k2,2g
}
# fastest TAG FIELD LOG: the label of the setting with the lowest median FIELD
fastest() { medians "$@" | awk 'NR == 1 { print $1 }'; }
# one_thread_of LABEL: the setting with LABEL's BLAS and core type on 1 thread (for batch-1
# training, which is per-sample overhead: not swept)
one_thread_of() {
    awk -v w="$1" 'NR == FNR { if ($1 == w) { d = $2; c = $6 } next }
        $2 == d && $6 == c && $4 == 1 && ($5 == 1 || $5 == "-") { print $1; exit }' \
        "$OUT/settings.txt" "$OUT/settings.txt"
}
# setting_cores LABEL: the cores a setting may keep busy (the most of its two thread counts)
setting_cores() {
    grep "^$1 " "$OUT/settings.txt" | awk '{ b = $5 == "-" ? $4 : $5; print ($4 > b ? $4 : b) }'
}

