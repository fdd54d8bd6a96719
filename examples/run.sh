#!/bin/sh
# `make run`: the article's worked example, its picture, and a short training
# demo on data the repository ships.
set -e
B=${1:-build}
mkdir -p "$B/run"
echo "== The article's network, one step of backpropagation (backprop step examples/article.net)"
"$B/backprop" step examples/article.net --out "$B/run/article-after-step.net"
"$B/backprop" draw examples/article.net -o "$B/run/article.svg"
echo
echo "== Picture: $B/run/article.svg; the updated net: $B/run/article-after-step.net"
echo
echo "== Training on the 8x8 handwritten digits (data/digits.csv)"
"$B/backprop" train data/digits.csv --task classification --hidden 64 --scale standard \
    --epochs 20 --batch 32 --val 0.2 --seed 1 --log "$B/run/digits.csv" -o "$B/run/digits.bpm"
"$B/backprop" plot "$B/run/digits.csv" -o "$B/run/digits-curves.svg"
"$B/backprop" eval "$B/run/digits.bpm" data/digits.csv --task classification | head -1
echo "== Learning curves: $B/run/digits-curves.svg"
