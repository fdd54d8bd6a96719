#!/bin/sh
# The lesson (step --format html), --lang zh, draw's ids and --highlight, and,
# where Chromium is installed, the lesson in a real browser.  The page checks
# are in tests/lesson_check.py.
#   LESSON_SCREENSHOT=docs/lesson.png sh tests/cli_lesson.sh   refreshes the README's picture
TEST=cli_lesson; . "$(dirname "$0")/lib.sh"
check_page() { # lesson trace [--expect X | --terms W]...
    [ -x "$PY" ] || { echo "cli_lesson: $PY missing: page check of $1 skipped"; return; }
    if "$PY" tests/lesson_check.py "$@"; then ok; else bad "lesson_check $1"; fi
}

# A 4-5-3 tanh/softmax network with cross-entropy.
cat >"$T/n453.net" <<'NET'
backprop-net 1
inputs 4
loss xent
init xavier 7
layer 5 tanh
layer 3 softmax
input 0.2 -0.4 0.9 0.1
target 0 1 0
lr 0.2
NET

# The article's lesson: every formula of the text trace, the article's deltas.
expect_rc 0 "step text" "$BP" step examples/article.net
cp "$T/out" "$T/article.txt"
expect_rc 0 "step html" "$BP" step examples/article.net --format html -o "$T/article.html"
check_page "$T/article.html" "$T/article.txt" \
    --expect "δo1 = (a_o1 − expected1)·a_o1·(1 − a_o1) = (0.5925 − 1.0000)·0.5925·(1 − 0.5925) = -0.0984" \
    --expect "δo2 = (a_o2 − expected2)·a_o2·(1 − a_o2) = (0.6827 − 0.0000)·0.6827·(1 − 0.6827) = 0.1479" \
    --expect "∂E/∂w7 = ∂E/∂a_o1·∂a_o1/∂s_o1·∂s_o1/∂w7 = δo1·a_h1" \
    --expect "w7' = w7 − η·∂E/∂w7 = 0.1200 − 0.1·(-0.0595) = 0.1259" \
    --terms "Forward propagation" --terms "And then repeat"
contains "$T/article.html" "<td>101</td>" "100 more steps by default"
expect_rc 0 "step html to stdout" "$BP" step examples/article.net --format html --steps 5
contains "$T/out" "<td>6</td>" "--steps 5: six rows"
lacks "$T/out" "<td>10</td>" "--steps 5: no row 10"
expect_rc 0 "step html --steps 0" "$BP" step examples/article.net --format html --steps 0
lacks "$T/out" "And then repeat" "--steps 0: no repeat section"
expect_rc 2 "bad --steps" "$BP" step examples/article.net --format html --steps -3

# The 4-5-3 tanh/softmax lesson.
expect_rc 0 "step 4-5-3 text" "$BP" step "$T/n453.net"
cp "$T/out" "$T/n453.txt"
expect_rc 0 "step 4-5-3 html" "$BP" step "$T/n453.net" --format html -o "$T/n453.html"
check_page "$T/n453.html" "$T/n453.txt" --expect "a_o2 = e^s_o2 / Σ_k e^s_k" --expect "tanh(s_h5)"

# --lang: English is the default and unchanged; Chinese uses the seed's terms.
expect_rc 0 "step --lang en" "$BP" step examples/article.net --lang en
if cmp -s "$T/out" "$T/article.txt"; then ok; else bad "--lang en differs from the default"; fi
expect_rc 0 "step --lang zh" "$BP" step examples/article.net --lang zh
for term in 前向传播 反向传播 误差 均方误差 学习率 权重 激活 隐藏层 输出层 "δo1 = (a_o1 − expected1)"; do
    contains "$T/out" "$term" "zh text"
done
lacks "$T/out" "Forward propagation" "zh text"
expect_rc 0 "step markdown --lang zh" "$BP" step examples/article.net --format markdown --lang zh
for term in "### 前向传播" "### 反向传播：输出层" "学习率 \$\\eta" 权重 激活 '\delta_{o1}'; do
    contains "$T/out" "$term" "zh markdown"
done
expect_rc 0 "step html --lang zh" "$BP" step examples/article.net --format html --lang zh -o "$T/zh.html"
check_page "$T/zh.html" "$T/article.txt" --expect "= -0.0984" --terms 前向传播 --terms 反向传播 \
    --terms 误差 --terms 均方误差 --terms 学习率 --terms 权重 --terms 激活函数 --terms 加权和 \
    --terms 链式法则 --terms 梯度下降 --terms 隐藏层 --terms 输出层 --terms 时期 --terms 然后重复
contains "$T/zh.html" 'lang="zh"' "zh page language"
expect_rc 2 "unknown --lang" "$BP" step examples/article.net --lang fr
contains "$T/err" "en, zh" "known languages named"

# draw: ids, --highlight, --lang.
expect_rc 0 "draw" "$BP" draw examples/article.net -o "$T/a.svg"
for id in 'id="w1"' 'id="w12"' 'id="lw7"' 'id="n-i1"' 'id="n-h3"' 'id="n-o2"'; do
    contains "$T/a.svg" "$id" "draw ids"
done
lacks "$T/a.svg" 'class="hl"' "no highlight by default"
expect_rc 0 "draw --highlight w7" "$BP" draw examples/article.net -o "$T/h.svg" --highlight w7
contains "$T/h.svg" '<line id="w7" class="hl"' "w7's edge highlighted"
contains "$T/h.svg" '<g class="neuron hl" id="n-h1"' "h1 highlighted"
contains "$T/h.svg" '<g class="neuron hl" id="n-o1"' "o1 highlighted"
if [ "$(grep -o 'class="[a-z ]*hl' "$T/h.svg" | wc -l)" -eq 4 ]; then ok; else bad "highlight: edge, label and two neurons only"; fi
expect_rc 0 "draw --highlight h2" "$BP" draw examples/article.net -o "$T/h2.svg" --highlight h2
contains "$T/h2.svg" '<g class="neuron hl" id="n-h2"' "neuron highlighted"
expect_rc 2 "draw --highlight w13" "$BP" draw examples/article.net -o "$T/x.svg" --highlight w13
contains "$T/err" "w13" "unknown highlight named"
expect_rc 0 "draw --lang zh" "$BP" draw examples/article.net -o "$T/zh.svg" --lang zh
contains "$T/zh.svg" "输入层" "zh drawing"

# In a browser: no console message, MathML laid out, hovering w7 highlights
# every formula that mentions it (the page's #selftest hook reports it).
if command -v chromium >/dev/null 2>&1; then
    # As root Chromium needs --no-sandbox; its profile stays in the temporary directory.
    CHROME="chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=$T/profile"
    for page in article n453 zh; do
        timeout 120 $CHROME --enable-logging=stderr --v=0 --dump-dom \
            "file://$T/$page.html#selftest=w7" >"$T/dom" 2>"$T/log"
        if grep -q ":CONSOLE" "$T/log"; then bad "$page: console: $(grep :CONSOLE "$T/log" | head -3)"; else ok; fi
        r=$(grep -o 'data-selftest="[^"]*"' "$T/dom")
        if echo "$r" | grep -Eq 'math=[1-9][0-9]* empty=0 formulas=([1-9][0-9]*) highlighted=\1 figure=([3-9]|[1-9][0-9])'; then
            ok
        else
            bad "$page in Chromium: ${r:-no self-test result}"
        fi
    done
    shot=${LESSON_SCREENSHOT:-$T/lesson.png}
    # The picture with w7 hovered (the self-test hook), as in the README.
    timeout 120 $CHROME --window-size=960,1200 --screenshot="$shot" "file://$T/article.html#selftest=w7" >/dev/null 2>&1
    if [ -s "$shot" ] && [ "$(head -c 4 "$shot" | tail -c 3)" = PNG ]; then ok; else bad "no screenshot"; fi
else
    echo "cli_lesson: chromium not installed: browser test skipped"
fi

echo "cli_lesson: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
