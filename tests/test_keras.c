// The whole seed network against Keras: tests/data/keras_fixture.safetensors
// (written by tools/keras_reference.py with TensorFlow, see its header) holds the
// initial weights, a batch of seed images and heatmaps, and what Keras computed
// from them: the inference output, the step-1 training forward and every
// step-1 gradient, the losses and MAEs of 3 Adam steps and every tensor after
// them. The C network loads the same weights, runs the same 3 steps, and every
// number is compared.
//
// Tolerances. Each Keras result K is stored twice: as TensorFlow computed it in
// float32 (K, the reference the task is defined by) and as the same Keras code
// computed it in float64 (E, "ref64/", exact for our purposes: perturbing the
// inputs and weights by 1 ulp moves E by < 1e-6 of its maximum, so the problem
// is well conditioned). tf_err = max|K - E| / max|E| is TensorFlow's own float32
// error for that tensor, measured, not guessed; it reaches 0.7% of the maximum
// for the gradients of the first blocks (the BN backward subtracts the mean and
// the xhat-projection of dy, cancelling ~50x) and up to 4% for weights after 3
// Adam steps (Adam divides g by |g|: where |g| is near rounding noise the step
// is ~lr with either sign). The C network does float32 too, in other orders.
// We require it to be at least about as accurate as TensorFlow:
//   |C - E| <= (2 tf_err + FLOOR) max|E|                       ("vs exact")
// and hence, by the triangle inequality,
//   |C - K| <= (3 tf_err + FLOOR) max|E|                       ("vs keras")
// and the root-mean-square error, which a handful of sign-flipped Adam steps
// cannot dominate the way they dominate the maximum:
//   rms(C - E) <= 2 rms(K - E) + FLOOR max|E|                   ("rms")
// FLOOR = 2e-5 covers tensors where TensorFlow happens to be nearly exact: a
// float32 sum of up to B*H*W = 5000 terms has a random-walk rounding error of
// ~sqrt(5000) * 6e-8 = 4e-6 of its size, through up to 5 chained reductions.
// Any wrong op (a missing BN term, unbiased variance, a wrong Adam bias
// correction, a transposed kernel) moves results by far more than that.
// Outputs, step-1 gradients and BN moving statistics (no Adam step in between)
// must also be within STRICT = 1e-4 of max|E| of exact ("strict"): the ~4e-6
// random-walk error of one 5000-term float32 sum, amplified by at most the ~50x
// cancellation of the BN backward (measured: |grad bn4.beta| / |grad conv4.bias|).
// That bound is independent of TensorFlow's accuracy, so a bug of 0.01% shows.
// Weights after Adam are not held to it (the sign sensitivity above).
// Losses: step 1 to 1e-5 relative (plus TensorFlow's error, 7e-7); steps 2 and 3
// by the same rule as above (TensorFlow's own loss is 2e-5 and 1.4e-4 off exact
// there, because its weights already are).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "safetensors.h"
#include "test_util.h"

#define H      50
#define W      50
#define STEPS  3
#define LR     1e-3f
#define FLOOR  2e-5
#define STRICT 1e-4

static st_file *g_fix;

// Fixture tensor `name` as float32 with `count` elements; NULL (and a failed
// check) if missing or of another size.
static const float *fixture(const char *name, size_t count) {
    const st_tensor *t = st_find(g_fix, name);
    CHECK(t != NULL, "fixture has no tensor '%s'", name);
    if (!t) return NULL;
    CHECK(t->dtype == ST_F32 && t->nbytes == count * sizeof(float), "fixture tensor '%s': %s, %zu bytes, want F32 %zu",
          name, st_dtype_name(t->dtype), t->nbytes, count * sizeof(float));
    return t->dtype == ST_F32 && t->nbytes == count * sizeof(float) ? t->data : NULL;
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

static double rms_diff(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        s += d * d;
    }
    return sqrt(s / (double)n);
}

// Compares `got` with fixture tensor `key` (Keras float32) and "ref64/<key>"
// (Keras float64) by the rules in the header comment; `strict`: also to STRICT.
// A key "name:what" compares with fixture tensor "name" ("what" only labels the lines).
static void compare(const char *label_key, const float *got, size_t n, int strict) {
    char key[96], k64[128], label[160];
    snprintf(key, sizeof key, "%s", label_key);
    char *colon = strchr(key, ':');
    if (colon) *colon = '\0';
    snprintf(k64, sizeof k64, "ref64/%s", key);
    const float *k = fixture(key, n), *e = fixture(k64, n);
    if (!k || !e) return;
    double scale = max_abs(e, n);
    double tf_err = 0;
    for (size_t i = 0; i < n; i++) tf_err = fmax(tf_err, fabs((double)k[i] - (double)e[i]));
    tf_err /= scale;
    snprintf(label, sizeof label, "%s vs keras", label_key);
    t_compare_f(label, got, k, n, (3 * tf_err + FLOOR) * scale, 0);
    snprintf(label, sizeof label, "%s vs exact", label_key);
    t_compare_f(label, got, e, n, (2 * tf_err + FLOOR) * scale, 0);
    if (strict) {
        snprintf(label, sizeof label, "%s vs exact, strict", label_key);
        t_compare_f(label, got, e, n, STRICT * scale, 0);
    }
    double rms_c = rms_diff(got, e, n), rms_tf = rms_diff(k, e, n);
    double rms_tol = 2 * rms_tf + FLOOR * scale;
    int ok = rms_c <= rms_tol;
    printf("%-6s %-40s rms(C-exact)=%.3g rms(TF-exact)=%.3g max|exact|=%.3g tf_err=%.3g\n", ok ? "OK" : "NOT OK",
           label_key, rms_c, rms_tf, scale, tf_err);
    CHECK(ok, "%s: rms error %.3g > %.3g", label_key, rms_c, rms_tol);
}

// Losses or MAEs of the 3 steps: step 1 to 1e-5 relative, later steps by the rule.
static void compare_steps(const char *key, const float *got) {
    char k64[96], label[128];
    snprintf(k64, sizeof k64, "ref64/%s", key);
    const float *k = fixture(key, STEPS), *e = fixture(k64, STEPS);
    if (!k || !e) return;
    for (int s = 0; s < STEPS; s++) {
        double tf_err = fabs((double)k[s] - (double)e[s]) / fabs((double)e[s]);
        double rel = (s == 0 ? 1e-5 : FLOOR) + 3 * tf_err;
        snprintf(label, sizeof label, "%s[step %d] vs keras (rtol %.2g)", key, s + 1, rel);
        t_compare_f(label, &got[s], &k[s], 1, 0, rel);
        rel = (s == 0 ? 1e-5 : FLOOR) + 2 * tf_err;
        snprintf(label, sizeof label, "%s[step %d] vs exact (rtol %.2g)", key, s + 1, rel);
        t_compare_f(label, &got[s], &e[s], 1, 0, rel);
    }
}

int main(void) {
    const char *dir = getenv("PIXLOC_TEST_DATA");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/keras_fixture.safetensors", dir && *dir ? dir : "tests/data");
    g_fix = st_open(path, err, sizeof err);
    CHECK(g_fix != NULL, "%s", err);
    if (!g_fix) return t_summary();
    printf("fixture %s: tensorflow %s, keras %s\n", path,
           st_meta(g_fix, "tensorflow") ? st_meta(g_fix, "tensorflow") : "?",
           st_meta(g_fix, "keras") ? st_meta(g_fix, "keras") : "?");

    const st_tensor *tx = st_expect(g_fix, "x", ST_F32, 3, (const int64_t[]){-1, H, W}, err, sizeof err);
    CHECK(tx != NULL, "%s", err);
    const st_tensor *ty = st_expect(g_fix, "y", ST_F32, 3, (const int64_t[]){-1, H, W}, err, sizeof err);
    CHECK(ty != NULL, "%s", err);
    if (!tx || !ty) return t_summary();
    int B = (int)tx->shape[0];
    CHECK(ty->shape[0] == B, "x and y batch sizes differ");
    size_t npix = (size_t)B * H * W;

    ocl_ctx c;
    ocl_options opts = {0};
    ocl_options_from_env(&opts); // the cache directory and settings, as the CLI reads them
    opts.quiet = 1;
    ocl_init(&c, &opts);
    net_config cfg;
    net_config_seed(&cfg);
    net *n = net_create(&c, &cfg, H, W, B);

    // Initial weights by name; every network tensor must be in the fixture and
    // every init/ tensor of the fixture must be a network tensor.
    int nt = net_tensor_count(n), ninit = 0;
    for (int i = 0; i < st_count(g_fix); i++) ninit += strncmp(st_at(g_fix, i)->name, "init/", 5) == 0;
    CHECK(ninit == nt, "fixture has %d init/ tensors, the network %d", ninit, nt);
    for (int i = 0; i < nt; i++) {
        const net_tensor *t = net_tensor_at(n, i);
        char name[96];
        snprintf(name, sizeof name, "init/%s", t->name);
        const st_tensor *s = st_expect(g_fix, name, ST_F32, t->ndim, t->shape, err, sizeof err);
        CHECK(s != NULL, "%s", err);
        if (!s) return t_summary();
        net_set_tensor(n, i, s->data);
    }
    size_t ntrain = net_trainable_count(n);
    float *zeros = calloc(ntrain, sizeof *zeros);
    net_set_adam(n, zeros, zeros, 0);
    free(zeros);
    net_set_batch(n, B, tx->data, ty->data);

    float *heat = malloc(npix * sizeof *heat);
    // Inference mode with the initial moving statistics.
    net_forward(n, B, 0);
    net_read_heatmaps(n, B, heat);
    compare("infer0", heat, npix, 1);
    {
        // The inference network predict and eval use (batch norm folded into the convolutions;
        // on CPUs its Winograd layers are F(4x4,3x3), the training network's F(2x2)), held to
        // the same strict bound.
        net *ni = net_create_kind(&c, &cfg, H, W, B, NET_KIND_INFERENCE);
        for (int i = 0; i < nt; i++) {
            float *v = malloc(net_tensor_at(n, i)->count * sizeof *v);
            net_get_tensor(n, i, v);
            net_set_tensor(ni, i, v);
            free(v);
        }
        net_set_batch(ni, B, tx->data, NULL);
        net_forward(ni, B, BN_INFERENCE);
        net_read_heatmaps(ni, B, heat);
        compare("infer0:inference-net", heat, npix, 1);
        net_free(ni);
    }

    float losses[STEPS], maes[STEPS];
    for (int s = 0; s < STEPS; s++) {
        net_forward(n, B, 1);
        net_loss(n, B, &losses[s], &maes[s]);
        net_backward(n, B);
        if (s == 0) {
            net_read_heatmaps(n, B, heat);
            compare("out1", heat, npix, 1);
            for (int i = 0; i < nt; i++) {
                const net_tensor *t = net_tensor_at(n, i);
                if (!t->trainable) continue;
                float *g = malloc(t->count * sizeof *g);
                char key[96];
                net_get_grad(n, i, g);
                snprintf(key, sizeof key, "grad1/%s", t->name);
                compare(key, g, t->count, 1);
                free(g);
            }
        }
        net_adam_step(n, LR);
    }
    printf("losses C %.9g %.9g %.9g\n", losses[0], losses[1], losses[2]);
    compare_steps("losses", losses);
    compare_steps("maes", maes);

    for (int i = 0; i < nt; i++) {
        const net_tensor *t = net_tensor_at(n, i);
        float *w = malloc(t->count * sizeof *w);
        char key[96];
        net_get_tensor(n, i, w);
        snprintf(key, sizeof key, "final/%s", t->name);
        compare(key, w, t->count, !t->trainable);
        free(w);
    }

    free(heat);
    net_free(n);
    ocl_release(&c);
    st_close(g_fix);
    return t_summary();
}
