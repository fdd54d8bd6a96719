#!/bin/sh
# tests/isa.sh NAME — exit 0 when this CPU runs the kernels' NAME path
# (portable, avx2, avx512), 1 when not; for `make check-isa` and
# tests/cli_isa_bits.sh.  Reads /proc/cpuinfo's flags, the features the
# library's cpuid check (src/kernels/isa.c) asks for; were the two to
# disagree, BACKPROP_ISA falls back to a lower path and a caller merely
# repeats that path.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { for f in "$@"; do case " $flags " in *" $f "*) ;; *) return 1 ;; esac; done; }
case ${1:-} in
portable) exit 0 ;;
avx2) has avx2 fma ;;
avx512) has avx512f avx512vl avx512bw avx512dq fma ;;
*) echo "usage: tests/isa.sh portable|avx2|avx512" >&2; exit 2 ;;
esac
