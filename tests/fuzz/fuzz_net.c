/* libFuzzer target: the text network parser (bp_net_parse_text).  A net that
 * parses must print (bp_net_fprint_text) and parse back to the same
 * architecture and the same parameter bits. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bp_net *net = NULL;
    bp_sample sample;
    bp_status st = bp_net_parse_text(&net, &sample, (const char *)data, size, "fuzz.net");
    fuzz_check_failure(st);
    if (st != BP_OK) {
        if (net || sample.input || sample.target)
            abort();
        return 0;
    }
    /* A few bytes ("inputs 900000 / layer 4 tanh / init xavier") legitimately
     * declare millions of parameters; printing those as text is slow, not wrong. */
    if (bp_net_param_count(net) > ((size_t)1 << 16)) {
        bp_sample_clear(&sample);
        bp_net_free(net);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (!fp)
        abort();
    if (bp_net_fprint_text(net, &sample, fp) != BP_OK)
        abort();
    fclose(fp);
    bp_net *back = NULL;
    bp_sample s2;
    if (bp_net_parse_text(&back, &s2, text, len, "fuzz-roundtrip.net") != BP_OK) {
        fprintf(stderr, "round trip failed: %s\n--- printed ---\n%s\n", bp_errmsg(), text);
        abort();
    }
    if (bp_net_inputs(back) != bp_net_inputs(net) || bp_net_layers(back) != bp_net_layers(net) ||
        bp_net_param_count(back) != bp_net_param_count(net) ||
        memcmp(bp_net_params_const(back), bp_net_params_const(net),
               bp_net_param_count(net) * sizeof(float)) != 0 ||
        bp_net_meta_count(back) != bp_net_meta_count(net))
        abort();
    free(text);
    bp_sample_clear(&s2);
    bp_net_free(back);
    bp_sample_clear(&sample);
    bp_net_free(net);
    return 0;
}
