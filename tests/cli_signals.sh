#!/bin/sh
# Signals during training (docs/reliability.md, "Files written and
# signals"): the first SIGINT/SIGTERM/SIGHUP finishes the batch, saves the
# model (and makes the checkpoint resumable), says where and exits 128 + N; a
# second one ends the run at once; neither leaves a temporary file.  A signal
# ignored on entry (nohup) stays ignored.
TEST=cli_signals; . "$(dirname "$0")/lib.sh"
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$T"' EXIT
bad() { fail=$((fail + 1)); echo "cli_signals: FAIL: $*"; sed 's/^/    /' "$T/err"; }

# 20000 rows of 16 features: an epoch of online training takes a moment.
awk 'BEGIN { srand(1); printf "f1"; for (j = 2; j <= 16; j++) printf ",f%d", j; print ",y";
             for (i = 0; i < 20000; i++) { s = 0;
                 for (j = 1; j <= 16; j++) { v = rand(); s += v; printf (j > 1 ? "," : "") "%.3f", v }
                 print "," (s > 8 ? "a" : "b") } }' >"$T/big.csv"

# Starts a long training run in the background (signals back at their
# defaults: a non-interactive shell starts background jobs with SIGINT
# ignored) and waits for its first epoch line.
start() {
    rm -f "$T/out" "$T/err" # else the last run's "epoch 1" could be seen before the shell truncates
    env --default-signal=INT,TERM,HUP "$BP" train "$T/big.csv" --hidden 256 --batch 1 \
        --threads 1 --epochs 100000 --val 0 "$@" >"$T/out" 2>"$T/err" &
    pid=$!
    i=0
    while ! grep -q '^epoch 1/' "$T/out" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$i" -ge 1200 ]; then
            echo "cli_signals: the training run did not start"; cat "$T/err"; exit 1
        fi
        sleep 0.05
        i=$((i + 1))
    done
}
# Waits for the run to end; one that is still running 60 s after the signal
# is a failure (and is killed), never a hung test suite.
finish() {
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        bad "the run did not end within 60 s of the signal"
        kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid"; rc=$?; pid=
}
no_temporaries() {
    if ls -a "$T" | grep -q '\.tmp\.'; then bad "$1: temporary file left behind"; else ok; fi
}

# ---- SIGINT: save the model, exit 130 ----------------------------------------
start -o "$T/m.bpm"
kill -INT "$pid"
finish
[ "$rc" -eq 130 ] && ok || bad "SIGINT: exit $rc, expected 130"
grep -q "training interrupted .*epoch [0-9]*.*; model saved to $T/m.bpm" "$T/err" && ok ||
    bad "SIGINT: no line saying where the model was saved"
"$BP" info "$T/m.bpm" >/dev/null 2>&1 && ok || bad "SIGINT: the saved model does not load"
no_temporaries SIGINT

# ---- SIGTERM with --checkpoint: exit 143, the checkpoint resumes --------------
start -o "$T/t.bpm" --checkpoint "$T/ck.bpc"
kill -TERM "$pid"
finish
[ "$rc" -eq 143 ] && ok || bad "SIGTERM: exit $rc, expected 143"
grep -q "model saved to $T/t.bpm" "$T/err" && ok || bad "SIGTERM: model not saved"
done=$(sed -n 's/.*checkpoint .* holds epoch \([0-9]*\);.*/\1/p; s/.*checkpoint .* saved with \([0-9]*\) epochs done.*/\1/p' "$T/err")
if [ -n "$done" ]; then
    ok
    if "$BP" train "$T/big.csv" --resume "$T/ck.bpc" --checkpoint "$T/ck.bpc" \
        --epochs $((done + 1)) -q -o "$T/r.bpm" >"$T/out" 2>"$T/err"; then ok
    else bad "SIGTERM: --resume from the checkpoint failed"; fi
else
    bad "SIGTERM: no line about the checkpoint"
fi
no_temporaries SIGTERM

# ---- SIGHUP: exit 129 ----------------------------------------------------------
start -o "$T/h.bpm"
kill -HUP "$pid"
finish
[ "$rc" -eq 129 ] && ok || bad "SIGHUP: exit $rc, expected 129"
"$BP" info "$T/h.bpm" >/dev/null 2>&1 && ok || bad "SIGHUP: the saved model does not load"

# ---- two SIGINTs at once (the kernel may merge them): nothing left behind -------------------------
cp "$T/m.bpm" "$T/m.orig"
start -o "$T/m.bpm"
kill -INT "$pid"
kill -INT "$pid"
finish
[ "$rc" -eq 130 ] && ok || bad "two SIGINTs: exit $rc, expected 130"
no_temporaries "two SIGINTs"
# The model is either the old one or a complete new one.
"$BP" info "$T/m.bpm" >/dev/null 2>&1 && ok || bad "two SIGINTs: the model is damaged"

# ---- a second SIGINT while the save hangs ends the run at once ------------------
# The checkpoint goes to a FIFO nobody reads, so the run blocks in its first
# checkpoint save (after printing epoch 1); the first SIGINT is deferred, the
# second must end it.
mkfifo "$T/ckfifo"
rm -f "$T/f.bpm"
start -o "$T/f.bpm" --checkpoint "$T/ckfifo"
sleep 0.2
kill -INT "$pid"
i=0
while ! grep -q 'interrupt again to quit' "$T/err" && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -INT "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
if kill -0 "$pid" 2>/dev/null; then
    bad "second SIGINT: the run did not end"; kill -9 "$pid"
fi
finish
[ "$rc" -eq 130 ] && ok || bad "second SIGINT: exit $rc, expected 130"
grep -q "model saved" "$T/err" && bad "second SIGINT: it went on saving" || ok
[ -e "$T/f.bpm" ] && bad "second SIGINT: a model was written" || ok
[ -p "$T/ckfifo" ] && ok || bad "second SIGINT: the FIFO was replaced"
no_temporaries "second SIGINT"

# ---- an ignored SIGHUP (nohup) stays ignored -------------------------------------
rm -f "$T/out" "$T/err"
(trap '' HUP; exec env --default-signal=INT "$BP" train "$T/big.csv" --hidden 256 --batch 1 \
    --threads 1 --epochs 100000 --val 0 -o "$T/n.bpm" >"$T/out" 2>"$T/err") &
pid=$!
i=0
while ! grep -q '^epoch 1/' "$T/out" 2>/dev/null && [ "$i" -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
kill -HUP "$pid"
sleep 0.3
if kill -0 "$pid" 2>/dev/null; then ok; else bad "ignored SIGHUP ended the run"; fi
kill -INT "$pid"
finish
[ "$rc" -eq 130 ] && ok || bad "SIGINT after an ignored SIGHUP: exit $rc"

echo "cli_signals: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
