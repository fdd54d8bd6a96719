/*
 * Train a classifier through the C API's training loop: load a CSV, split off
 * a validation set, fit input scaling, train with Adam and early stopping,
 * report every epoch through the callback, evaluate and save.
 *     ./train_api [data/iris.csv]
 */
#include <stdio.h>

#include <backprop.h>

static int report(const bp_epoch_report *r, void *user)
{
    (void)user;
    if (!r->in_epoch && (r->epoch % 10 == 0 || r->epoch == r->epochs))
        printf("epoch %3d  loss %.4f  val_loss %.4f  val_acc %.3f\n", r->epoch, r->train_loss,
               r->val_loss, r->val_accuracy);
    return 0; /* non-zero would stop training */
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "data/iris.csv";
    bp_dataset *all = NULL, *train = NULL, *val = NULL;
    bp_net *net = NULL;
    bp_metrics m;
    bp_metrics_init(&m);
    int rc = 1;
    if (bp_dataset_read_csv(&all, path, NULL) != BP_OK ||
        bp_dataset_split(all, 0.3, 7, &train, &val) != BP_OK)
        goto fail;
    bp_layer_spec layers[2] = {
        BP_LAYER(16, BP_ACT_RELU, 1, 0),
        BP_LAYER(bp_dataset_outputs(train), BP_ACT_SOFTMAX, 1, 0),
    };
    if (bp_net_create(&net, bp_dataset_inputs(train), 2, layers, BP_LOSS_XENT) != BP_OK ||
        bp_net_init(net, BP_INIT_HE, 7) != BP_OK ||
        bp_net_fit_scaling(net, train, BP_SCALE_STANDARD) != BP_OK)
        goto fail;
    bp_train_options opts;
    bp_train_options_default(&opts);
    opts.epochs = 100;
    opts.batch_size = 16;
    opts.learning_rate = 0.01f;
    opts.patience = 20;
    opts.progress = report;
    if (bp_train(net, train, val, &opts) != BP_OK || bp_evaluate(net, val, 1, &m) != BP_OK)
        goto fail;
    printf("validation accuracy %.3f\n", m.accuracy);
    if (bp_net_save(net, "/tmp/backprop-example.bpm") != BP_OK)
        goto fail;
    rc = m.accuracy >= 0.9 ? 0 : 1;
    goto done;
fail:
    fprintf(stderr, "train_api: %s\n", bp_errmsg());
done:
    bp_metrics_clear(&m);
    bp_net_free(net);
    bp_dataset_free(all);
    bp_dataset_free(train);
    bp_dataset_free(val);
    return rc;
}
