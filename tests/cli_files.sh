#!/bin/sh
# Output files through the CLI (docs/reliability.md, "Files written and
# signals"): devices and FIFOs are written through and never replaced, a
# directory is refused, a symbolic link's target is replaced; a write past
# `ulimit -f` fails cleanly; an output that is an input (or another output)
# is refused; a read-only output needs --force; train checks its outputs and
# its test set before training; a write error on standard output is a
# failure; an unknown --target is a usage error everywhere.
TEST=cli_files; . "$(dirname "$0")/lib.sh"

# expect NAME STATUS STDERR-FRAGMENT COMMAND...: runs it, checks both.
expect() {
    name=$1 want=$2 frag=$3
    shift 3
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, expected $want"; sed 's/^/    /' "$T/err"; return 1
    fi
    if [ -n "$frag" ] && ! grep -qF -- "$frag" "$T/err"; then
        bad "$name: stderr lacks '$frag'"; sed 's/^/    /' "$T/err"; return 1
    fi
    if ls -a "$T" | grep -q '\.tmp\.'; then
        bad "$name: temporary file left behind"; rm -f "$T"/*.tmp.*; return 1
    fi
    ok
}
is_char() { [ -c "$1" ] || { bad "$2: $1 is no longer a character device"; return 1; }; }

TR="train data/iris.csv --hidden 4 --epochs 1 --threads 1 --val 0 -q"
"$BP" $TR -o "$T/m.bpm" >/dev/null 2>&1 || { echo "cli_files: cannot train"; exit 1; }
cp examples/article.net "$T/s.net"
printf 'epoch,seconds,samples_per_s,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy\n1,0.1,10,0.01,1.0,0.5,,\n2,0.1,10,0.01,0.5,0.7,,\n' >"$T/log.csv"

# ---- 1. special files --------------------------------------------------------
if mknod "$T/null" c 1 3 2>/dev/null && mknod "$T/full" c 1 7 2>/dev/null; then
    expect "train -o null device" 0 "" "$BP" $TR -o "$T/null" && is_char "$T/null" train && ok
    expect "train -o full device" 1 "No space left on device" "$BP" $TR -o "$T/full" &&
        is_char "$T/full" train && ok
    expect "predict -o null device" 0 "" "$BP" predict "$T/m.bpm" data/iris.csv -o "$T/null" &&
        is_char "$T/null" predict && ok
    expect "predict -o full device" 1 "No space left on device" \
        "$BP" predict "$T/m.bpm" data/iris.csv -o "$T/full" && is_char "$T/full" predict && ok
    expect "export -o null device" 0 "" "$BP" export "$T/m.bpm" -o "$T/null" &&
        is_char "$T/null" export && ok
    expect "export -o full device" 1 "No space left on device" "$BP" export "$T/m.bpm" -o "$T/full"
    expect "checkpoint to null device" 0 "" "$BP" $TR --epochs 2 --checkpoint "$T/null" \
        -o "$T/ck-model.bpm" && is_char "$T/null" checkpoint && ok
    expect "checkpoint to full device" 1 "No space left on device" \
        "$BP" $TR --checkpoint "$T/full" -o "$T/ck-model2.bpm"
    expect "draw -o null device" 0 "" "$BP" draw "$T/s.net" -o "$T/null" && is_char "$T/null" draw
    expect "plot -o null device" 0 "" "$BP" plot "$T/log.csv" -o "$T/null" && is_char "$T/null" plot
    expect "step --out null device" 0 "" "$BP" step "$T/s.net" --out "$T/null" &&
        is_char "$T/null" step
    # --log /dev/full: found before training, no model written.
    rm -f "$T/logfull.bpm"
    expect "log to full device" 1 "log $T/full: write failed: No space left on device" \
        "$BP" $TR --log "$T/full" -o "$T/logfull.bpm"
    [ -e "$T/logfull.bpm" ] && bad "log to full device: a model was written" || ok
    grep -q '^epoch ' "$T/out" && bad "log to full device: trained first" || ok
else
    echo "cli_files: skipped the device cases (mknod not permitted)"
fi
if mkfifo "$T/fifo" 2>/dev/null; then
    cat "$T/fifo" >"$T/fifo-got" &
    reader=$!
    expect "train -o FIFO" 0 "" "$BP" $TR -o "$T/fifo"
    if [ -p "$T/fifo" ]; then
        ok
        wait "$reader"
    else
        bad "train -o FIFO: the FIFO was replaced"
        kill "$reader" 2>/dev/null
    fi
    "$BP" info "$T/fifo-got" >/dev/null 2>&1 && ok || bad "train -o FIFO: the reader got no model"
fi
mkdir "$T/dir"
expect "train -o directory" 1 "is a directory" "$BP" $TR -o "$T/dir"
expect "predict -o directory" 1 "is a directory" "$BP" predict "$T/m.bpm" data/iris.csv -o "$T/dir"
# A symbolic link is followed: its target is replaced, the link stays.
cp "$T/m.bpm" "$T/real.bpm"
ln -s real.bpm "$T/link.bpm"
expect "train -o symlink" 0 "" "$BP" $TR --hidden 5 -o "$T/link.bpm"
[ -L "$T/link.bpm" ] && ok || bad "train -o symlink: the link was replaced"
"$BP" info "$T/real.bpm" 2>/dev/null | grep -q -- '-5-' && ok || bad "train -o symlink: target not replaced"
# /dev/stdout while standard output is a regular file: written into that file
# (same inode), not replaced under the open stream.
: >"$T/stdout.net"
ino=$(ls -i "$T/stdout.net" | cut -d' ' -f1)
"$BP" export "$T/m.bpm" -o /dev/stdout >"$T/stdout.net" 2>"$T/err"
[ "$(ls -i "$T/stdout.net" | cut -d' ' -f1)" = "$ino" ] && ok || bad "export -o /dev/stdout replaced the file standard output was writing to"
grep -q "^weights" "$T/stdout.net" && ok || bad "export -o /dev/stdout: no network in the file"
ln -s missing.bpm "$T/dangling.bpm"
expect "train -o dangling symlink" 1 "symbolic link to a missing file" "$BP" $TR -o "$T/dangling.bpm"

# ---- 2. file-size limit (SIGXFSZ) ------------------------------------------
cp "$T/m.bpm" "$T/keep.bpm"
expect "train under ulimit -f" 1 "File too large" \
    sh -c 'ulimit -f 1 && exec "$@"' sh "$BP" $TR --hidden 64 -o "$T/keep.bpm"
cmp -s "$T/m.bpm" "$T/keep.bpm" && ok || bad "train under ulimit -f: the old model changed"
expect "predict under ulimit -f" 1 "File too large" \
    sh -c 'ulimit -f 1 && exec "$@"' sh "$BP" predict "$T/m.bpm" data/iris.csv -o "$T/p.csv"
[ -e "$T/p.csv" ] && bad "predict under ulimit -f: wrote a partial file" || ok

# ---- 3. outputs that are inputs --------------------------------------------
cp data/iris.csv "$T/iris.csv"
ln "$T/iris.csv" "$T/hard.csv"
expect "train DATA -o DATA" 2 "DATA $T/iris.csv and -o $T/iris.csv are the same file" \
    "$BP" train "$T/iris.csv" --epochs 1 -q -o "$T/iris.csv"
expect "train DATA -o hard link" 2 "are the same file" \
    "$BP" train "$T/iris.csv" --epochs 1 -q -o "$T/hard.csv"
cmp -s data/iris.csv "$T/iris.csv" && ok || bad "train DATA -o DATA: the data changed"
expect "predict M -o M" 2 "MODEL $T/m.bpm and -o $T/m.bpm are the same file" \
    "$BP" predict "$T/m.bpm" data/iris.csv -o "$T/m.bpm"
"$BP" info "$T/m.bpm" >/dev/null 2>&1 && ok || bad "predict M -o M: the model was overwritten"
expect "--log X -o X" 2 "are the same file" "$BP" $TR --log "$T/x.out" -o "$T/x.out"
expect "--checkpoint X -o X" 2 "are the same file" "$BP" $TR --checkpoint "$T/m.bpm" -o "$T/m.bpm"
expect "--log X -o ./X" 2 "are the same file" "$BP" $TR --log "$T/y.out" -o "$T/./y.out"
expect "--test X --log X" 2 "are the same file" "$BP" $TR --test "$T/iris.csv" --log "$T/iris.csv"
expect "export M -o M" 2 "are the same file" "$BP" export "$T/s.net" -o "$T/s.net"
expect "step NET --out NET" 2 "are the same file" "$BP" step "$T/s.net" --out "$T/s.net"
expect "plot LOG -o LOG" 2 "are the same file" "$BP" plot "$T/log.csv" -o "$T/log.csv"
# Resuming from the checkpoint that the run keeps writing is allowed.
expect "checkpoint" 0 "" "$BP" $TR --epochs 1 --checkpoint "$T/ck.bpc" -o "$T/r.bpm"
expect "--resume X --checkpoint X" 0 "" "$BP" train data/iris.csv --epochs 2 -q \
    --resume "$T/ck.bpc" --checkpoint "$T/ck.bpc" -o "$T/r.bpm"

# ---- 4. read-only outputs --------------------------------------------------
cp "$T/m.bpm" "$T/ro.bpm"
chmod 0444 "$T/ro.bpm"
# Root too: the mode says "keep this" even to a user who could write it.
expect "train -o read-only (root)" 1 "is read-only (mode 0444); give --force" "$BP" $TR -o "$T/ro.bpm"
cmp -s "$T/m.bpm" "$T/ro.bpm" && ok || bad "train -o read-only: replaced without --force"
expect "export -o read-only" 1 "is read-only" "$BP" export "$T/m.bpm" -o "$T/ro.bpm"
expect "train -o read-only --force" 0 "" "$BP" $TR --hidden 5 --force -o "$T/ro.bpm"
cmp -s "$T/m.bpm" "$T/ro.bpm" && bad "train --force: not replaced" || ok
[ "$(stat -c %a "$T/ro.bpm")" = 444 ] && ok || bad "train --force: mode not kept"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    U="$T/user"
    mkdir "$U" && cp "$BP" data/iris.csv "$T/m.bpm" "$U/" && chmod 0444 "$U/m.bpm"
    chown -R nobody "$U" && chmod 755 "$T"
    AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
    expect "read-only model, non-root" 1 "is read-only (mode 0444)" \
        $AS "$U/backprop" train "$U/iris.csv" --epochs 1 --val 0 -q --hidden 5 -o "$U/m.bpm"
    cmp -s "$T/m.bpm" "$U/m.bpm" && ok || bad "read-only model, non-root: replaced"
    expect "read-only model, non-root, --force" 0 "" \
        $AS "$U/backprop" train "$U/iris.csv" --epochs 1 --val 0 -q --hidden 5 --force -o "$U/m.bpm"
    # A file the user may not write (another owner) in a directory they may.
    cp "$T/m.bpm" "$U/root.bpm" && chown root "$U/root.bpm" && chmod 0644 "$U/root.bpm"
    expect "another user's model -o" 1 "is read-only" \
        $AS "$U/backprop" train "$U/iris.csv" --epochs 1 --val 0 -q -o "$U/root.bpm"
    cmp -s "$T/m.bpm" "$U/root.bpm" && ok || bad "another user's model: replaced"
else
    echo "cli_files: skipped the non-root read-only cases (not root or no setpriv)"
fi

# ---- 7. train checks its outputs and test set before training ---------------
long=$(printf '%0256d' 0)
expect "train -o 256-byte name" 1 "File name too long" "$BP" $TR -o "$T/$long.bpm"
grep -q '^epoch ' "$T/out" && bad "train -o 256-byte name: trained first" || ok
name250=$(printf '%0246d' 0).bpm
expect "train -o 250-byte name" 0 "" "$BP" $TR -o "$T/$name250"
"$BP" info "$T/$name250" >/dev/null 2>&1 && ok || bad "train -o 250-byte name: no model"
expect "checkpoint 256-byte name" 1 "File name too long" "$BP" $TR --checkpoint "$T/$long" -o "$T/c.bpm"
expect "log in missing directory" 1 "No such file or directory" \
    "$BP" $TR --log "$T/nodir/log.csv" -o "$T/c.bpm"
printf 'a,b,y\n1,2,0\n3,4,1\n' >"$T/small.csv"
rm -f "$T/shape.bpm"
expect "test set of another shape" 1 "small.csv: no column \"sepal_length\"" \
    "$BP" train data/iris.csv --test "$T/small.csv" --epochs 1 -o "$T/shape.bpm"
[ -e "$T/shape.bpm" ] && bad "test set of another shape: a model was written" || ok
grep -q '^epoch ' "$T/out" && bad "test set of another shape: trained first" || ok

# ---- 8. standard output on a full disk ---------------------------------------
if [ -c /dev/full ]; then
    for c in "info $T/m.bpm" "eval $T/m.bpm data/iris.csv" "step $T/s.net" \
             "train data/iris.csv --epochs 1 --val 0 --threads 1 -o $T/so.bpm" \
             "predict $T/m.bpm data/iris.csv" "--version"; do
        # shellcheck disable=SC2086
        "$BP" $c >/dev/full 2>"$T/err"
        rc=$?
        if [ "$rc" -eq 1 ] && grep -q "standard output" "$T/err"; then ok
        else bad "$c >/dev/full: exit $rc"; sed 's/^/    /' "$T/err"; fi
    done
fi

# ---- 9. usage errors exit 2 ----------------------------------------------------
expect "predict --target nosuch" 2 "nosuch" "$BP" predict "$T/m.bpm" data/iris.csv --target nosuch
expect "eval --target nosuch" 2 "nosuch" "$BP" eval "$T/m.bpm" data/iris.csv --target nosuch
expect "train --target nosuch" 2 "nosuch" "$BP" train data/iris.csv --target nosuch -o "$T/t.bpm"

echo "cli_files: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
