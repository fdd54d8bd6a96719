/*
 * Train XOR with the C API: a 2-4-1 sigmoid network, MSE, online gradient
 * descent, until the mean squared error is below 0.01.  Build it against the
 * installed library with
 *     cc xor.c $(pkg-config --cflags --libs backprop) -o xor
 */
#include <stdio.h>

#include <backprop.h>

int main(void)
{
    const float x[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    const float t[4][1] = {{0}, {1}, {1}, {0}};
    bp_layer_spec layers[2] = {
        BP_LAYER(4, BP_ACT_SIGMOID, 1, 0),
        BP_LAYER(1, BP_ACT_SIGMOID, 1, 0),
    };
    bp_net *net = NULL;
    bp_workspace *ws = NULL;
    if (bp_net_create(&net, 2, 2, layers, BP_LOSS_MSE) != BP_OK ||
        bp_net_init(net, BP_INIT_XAVIER, 1) != BP_OK ||
        bp_workspace_create(&ws, net, 4, 1) != BP_OK) {
        fprintf(stderr, "xor: %s\n", bp_errmsg());
        bp_net_free(net);
        return 1;
    }
    /* E = ½(t − a)², so "MSE" below is the mean of (t − a)² = 2·E. */
    double mse = 1;
    int epoch;
    for (epoch = 1; epoch <= 20000 && mse >= 0.01; epoch++) {
        for (int i = 0; i < 4; i++)
            bp_train_sample(net, ws, x[i], t[i], 0.5f, NULL);
        float out[4];
        bp_predict(net, ws, &x[0][0], 4, out);
        mse = 0;
        for (int i = 0; i < 4; i++)
            mse += (out[i] - t[i][0]) * (out[i] - t[i][0]) / 4;
    }
    float out[4];
    bp_predict(net, ws, &x[0][0], 4, out);
    for (int i = 0; i < 4; i++)
        printf("%g xor %g = %.3f\n", x[i][0], x[i][1], out[i]);
    printf("mean squared error %.5f after %d epochs\n", mse, epoch - 1);
    bp_workspace_free(ws);
    bp_net_free(net);
    return mse < 0.01 ? 0 : 1;
}
