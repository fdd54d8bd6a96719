/*
 * The words of `backprop step` and `backprop draw`, one table per language.
 * English is the default and prints exactly what the code printed before
 * tables existed.  The Chinese table takes its terms from the seed article
 * (前向传播, 反向传播, 误差, 均方误差, 学习率, 权重, 激活函数, 加权和,
 * 链式法则, 梯度下降, 隐藏层, 输出层, 时期, "具有更新权重的神经网络").
 */
#include <string.h>

#include "explain.h"
#include "nn/net_io.h"

static const bp_words english = {
    .code = "en",
    .title = "One step of backpropagation",
    .net_text_fmt = "  network: %d inputs",
    .net_md_fmt = "Network: %d inputs",
    .layer_fmt = ", %d %s %s%s",
    .outputs = "outputs",
    .hidden = "hidden",
    .bias = " (bias)",
    .loss_text_fmt = "; loss %s; learning rate η = %g\n",
    .loss_md_fmt = "; loss %s; learning rate $\\eta = %g$.\n\n",
    .inputs_text = "  inputs:",
    .inputs_md = "Inputs: ",
    .expected_text = "\n  expected:",
    .expected_md = ". Expected outputs: ",
    .scaled_text = "\n  (the model's input scaling x' = (x − shift)·scale applied to the raw input",
    .scaled_md = " (the model's input scaling $x' = (x - \\text{shift})\\cdot"
                 "\\text{scale}$ applied to the raw input",
    .forward = "Forward propagation",
    .layer_title_fmt = "%s layer%s",
    .Output = "Output",
    .Hidden = "Hidden",
    .error = "Error",
    .mse_text = "squared error, E = ½ Σ_k (expected_k − a_k)²:",
    .mse_md = "Squared error of the sample, $E = \\frac{1}{2}\\sum_k (\\text{expected}_k - a_k)^2$:",
    .xent_text = "cross-entropy, E = −Σ_k expected_k·ln a_k:",
    .xent_md = "Cross-entropy, $E = -\\sum_k \\text{expected}_k \\ln a_k$:",
    .bce_text = "binary cross-entropy, E = −Σ_k [t_k·ln a_k + (1−t_k)·ln(1−a_k)]:",
    .bce_md = "Binary cross-entropy, $E = -\\sum_k [t_k \\ln a_k + (1-t_k)\\ln(1-a_k)]$:",
    .backprop_fmt = "Backpropagation, %s layer%s",
    .output_lc = "output",
    .hidden_lc = "hidden",
    .result = "Result: the updated weights",
    .more_text_fmt = " … (%zu weights)",
    .more_md_fmt = " … ($%zu$ weights)",
    .html_title = "One step of backpropagation: network %s",
    .intro = "Feeding data from the inputs through the network to the outputs is forward "
             "propagation; feeding the error back to adjust the weights is backpropagation. "
             "Here is one of each for this network, every number worked out by its formula.",
    .figure_caption = "The network: each edge with its weight (old → new after the step), each "
                      "neuron with its weighted sum s and activation a.",
    .hint = "Hover over (or Tab to) a weight or a neuron in the picture to highlight its "
            "formulas, or a formula to highlight its weights and neurons.",
    .setup = "The sample",
    .chain_rule = "By the chain rule, the change of the error with a weight is the product of "
                  "the changes along its path; the delta δ of a neuron collects all but the "
                  "last factor:",
    .update_rule = "Gradient descent then moves every weight against its gradient, "
                   "scaled by the learning rate:",
    .repeat = "And then repeat",
    .repeat_text_fmt = "Training does this step again and again, on many examples and for many "
                       "epochs.  Here are %d more steps on the same example, and the error E "
                       "after each:",
    .step_col = "step",
    .error_col = "E",
    .change_col = "change",
    .closing = "The work is laborious and numeric, which is why computers do it; doing it once "
               "by hand builds the understanding.",
    .svg_input = "input",
    .svg_output = "output",
    .svg_hidden = "hidden",
    .svg_forward = "forward pass: s = weighted sum, a = activation of each neuron",
    .svg_update = "values shown as old \xe2\x86\x92 new (after the update)",
    .svg_positive = "positive weight",
    .svg_negative = "negative weight",
    .svg_width = "line width \xe2\x88\x9d |w|",
};

static const bp_words chinese = {
    .code = "zh",
    .title = "前向传播与反向传播的一步",
    .net_text_fmt = "  网络：%d 个输入",
    .net_md_fmt = "网络：%d 个输入",
    .layer_fmt = "，%d 个 %s 激活的%s%s",
    .outputs = "输出层神经元",
    .hidden = "隐藏层神经元",
    .bias = "（带偏置）",
    .loss_text_fmt = "；误差函数 %s；学习率 η = %g\n",
    .loss_md_fmt = "；误差函数 %s；学习率 $\\eta = %g$。\n\n",
    .inputs_text = "  输入：",
    .inputs_md = "输入：",
    .expected_text = "\n  预期输出：",
    .expected_md = "。预期输出：",
    .scaled_text = "\n  （模型的输入缩放 x' = (x − shift)·scale 作用于原始输入",
    .scaled_md = "（模型的输入缩放 $x' = (x - \\text{shift})\\cdot\\text{scale}$ 作用于原始输入",
    .forward = "前向传播",
    .layer_title_fmt = "%s%s",
    .Output = "输出层",
    .Hidden = "隐藏层",
    .error = "误差",
    .mse_text = "均方误差 (MSE)，E = ½ Σ_k (expected_k − a_k)²：",
    .mse_md = "均方误差 (MSE)，$E = \\frac{1}{2}\\sum_k (\\text{expected}_k - a_k)^2$：",
    .xent_text = "交叉熵误差，E = −Σ_k expected_k·ln a_k：",
    .xent_md = "交叉熵误差，$E = -\\sum_k \\text{expected}_k \\ln a_k$：",
    .bce_text = "二元交叉熵误差，E = −Σ_k [t_k·ln a_k + (1−t_k)·ln(1−a_k)]：",
    .bce_md = "二元交叉熵误差，$E = -\\sum_k [t_k \\ln a_k + (1-t_k)\\ln(1-a_k)]$：",
    .backprop_fmt = "反向传播：%s%s",
    .output_lc = "输出层",
    .hidden_lc = "隐藏层",
    .result = "具有更新权重的神经网络",
    .more_text_fmt = " …（共 %zu 个权重）",
    .more_md_fmt = " …（共 $%zu$ 个权重）",
    .html_title = "神经网络的数学——网络 %s 的一个完整例子",
    .intro = "将数据从输入端通过网络馈送到输出端的过程称为前向传播；将误差反馈回网络以微调"
             "权重的过程称为反向传播。下面是这个网络的一次前向传播和一次反向传播，每个数字都"
             "由它的公式算出。",
    .figure_caption = "示例网络：每条边标出权重（旧值 → 更新后的新值），每个神经元标出加权和 s "
                      "和激活函数的值 a。",
    .hint = "将鼠标悬停在图中的权重或神经元上（或用 Tab 键聚焦），相关公式会高亮显示；"
            "悬停在公式上，图中相应的权重和神经元也会高亮。",
    .setup = "样本",
    .chain_rule = "反向传播背后的一般数学思想是应用链式法则来找到误差函数随权重变化的变化；"
                  "神经元的增量 δ 汇总了除最后一项以外的所有因子：",
    .update_rule = "然后应用梯度下降：新的权重等于旧权重减去学习率乘以梯度：",
    .repeat = "然后重复",
    .repeat_text_fmt = "通常，神经网络在多个数据实例上进行多次迭代训练（我们称之为时期）。"
                       "下面在同一个样本上再重复 %d 步，以及每一步之后的误差 E：",
    .step_col = "步",
    .error_col = "误差 E",
    .change_col = "变化",
    .closing = "这个过程非常费力，而且数学运算量很大——这就是我们用计算机完成这些工作的原因；"
               "完整的数学演练有助于强化实施模型时所需的理解。",
    .svg_input = "输入层",
    .svg_output = "输出层",
    .svg_hidden = "隐藏层",
    .svg_forward = "前向传播：s = 加权和，a = 激活函数的值",
    .svg_update = "数值显示为 旧值 \xe2\x86\x92 新值（更新权重之后）",
    .svg_positive = "正权重",
    .svg_negative = "负权重",
    .svg_width = "线宽 \xe2\x88\x9d |w|",
};

static const bp_words *const tables[] = {&english, &chinese};

const bp_words *bp_words_find(const char *lang)
{
    if (!lang || !*lang)
        return &english;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (!strcmp(lang, tables[i]->code))
            return tables[i];
    return NULL;
}

const char *bp_explain_languages(void) { return "en, zh"; }

void bp_explain_options_init(bp_explain_options *opt, size_t size)
{
    bp_explain_options d;
    memset(&d, 0, sizeof d);
    d.lang = "en";
    d.steps = 100;
    bp_abi_fill(opt, size, &d, sizeof d);
}

bp_status bp_explain_options_take(const bp_explain_options *opt, const char *fn,
                                  bp_explain_options *out, const bp_words **words)
{
    bp_explain_options_default(out);
    if (opt) {
        bp_status st = bp_abi_check(opt, sizeof(bp_explain_options), fn, "bp_explain_options",
                                    "bp_explain_options_default");
        if (st != BP_OK)
            return st;
        bp_abi_copy(out, sizeof *out, opt);
    }
    if (out->steps == 0)
        out->steps = 100;
    if (out->steps > 100000)
        return bp_error(BP_ERR_ARG, "%s: steps is %d, at most 100000", fn, out->steps);
    *words = bp_words_find(out->lang);
    if (!*words)
        return bp_error(BP_ERR_ARG, "%s: unknown language '%s' (known: %s)", fn, out->lang,
                        bp_explain_languages());
    return BP_OK;
}
