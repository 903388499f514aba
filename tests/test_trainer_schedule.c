// The trainer's two schedules (include/train/trainer.h) on a tiny fresh-data run of 3 epochs:
//  - pipelined (the default): no trainer_step inside an epoch waits for an empty queue
//    (ocl_ctx.queue_drains does not move) and each waits for one event at most (the previous
//    step's loss, with this step queued behind it); the next epoch's data comes from the host
//    thread (two buffer pairs);
//  - both schedules report the same loss and MAE for every step (the progress callback), the
//    same epoch results, and end with the same weights, BN statistics, Adam state and progress,
//    bit for bit, with fresh data and without;
//  - a NaN loss (the nan_step hook: in mid-epoch, at an epoch's last step, at the first step)
//    stops both at the same epoch and step, after the same callbacks.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "ocl.h"
#include "ocl_flags.h"
#include "pixloc.h"
#include "test_util.h"
#include "trainer.h"

#define MAX_STEPS 256

typedef struct {
    int n;
    trainer_step_info step[MAX_STEPS];
    trainer_epoch_result epoch[8];
    int nepochs;
    trainer_status last; // FINISHED or DIVERGED
    trainer_epoch_result diverged;
    float *state; // every tensor, then Adam m and v
    size_t nstate;
    int64_t adam_step;
    train_progress tp;
    long max_drains, max_waits; // per STEP_DONE call (pipelined: steps after an epoch's first)
    int pairs;
} run_log;

static void on_step(void *user, const trainer_step_info *i) {
    run_log *l = user;
    if (l->n < MAX_STEPS) l->step[l->n] = *i;
    l->n++;
}

static void run(ocl_ctx *c, const train_settings *s, int sync, int64_t nan_step, run_log *l) {
    memset(l, 0, sizeof *l);
    trainer_options o = {NULL, on_step, l, nan_step, sync, NULL};
    trainer *t = trainer_create(s, &o);
    trainer_attach(t, c);
    l->pairs = trainer_fresh_pairs(t);
    int steps = trainer_steps_per_epoch(t), st_in_epoch = 0;
    for (;;) {
        long d0 = c->queue_drains, w0 = c->event_waits;
        trainer_epoch_result r;
        trainer_status st = trainer_step(t, &r);
        if (st == TRAINER_STEP_DONE && st_in_epoch > 0) {
            if (c->queue_drains - d0 > l->max_drains) l->max_drains = c->queue_drains - d0;
            if (c->event_waits - w0 > l->max_waits) l->max_waits = c->event_waits - w0;
        }
        st_in_epoch = (st_in_epoch + 1) % steps;
        if (st == TRAINER_EPOCH_DONE && l->nepochs < 8) l->epoch[l->nepochs++] = r;
        if (st == TRAINER_DIVERGED) l->diverged = r;
        if (st == TRAINER_FINISHED || st == TRAINER_DIVERGED) {
            l->last = st;
            break;
        }
    }
    if (l->last == TRAINER_FINISHED) {
        net *n = trainer_net(t);
        size_t np = net_trainable_count(n), total = 2 * np;
        for (int i = 0; i < net_tensor_count(n); i++) total += net_tensor_at(n, i)->count;
        l->state = malloc(total * sizeof(float));
        l->nstate = total;
        size_t at = 0;
        for (int i = 0; i < net_tensor_count(n); i++) {
            net_get_tensor(n, i, l->state + at);
            at += net_tensor_at(n, i)->count;
        }
        net_get_adam(n, l->state + at, l->state + at + np, &l->adam_step);
        l->tp = *trainer_progress(t);
        l->tp.seconds = 0; // wall clock
    }
    trainer_free(t);
}

static int same_steps(const run_log *a, const run_log *b) {
    if (a->n != b->n || a->n > MAX_STEPS) return 0;
    for (int i = 0; i < a->n; i++) {
        const trainer_step_info *x = &a->step[i], *y = &b->step[i];
        if (x->epoch != y->epoch || x->step != y->step || x->loss != y->loss || x->mae != y->mae) return 0;
    }
    return 1;
}

static int same_epochs(const run_log *a, const run_log *b) {
    if (a->nepochs != b->nepochs) return 0;
    for (int i = 0; i < a->nepochs; i++) {
        const trainer_epoch_result *x = &a->epoch[i], *y = &b->epoch[i];
        if (x->epoch != y->epoch || x->loss != y->loss || x->mae != y->mae || x->is_best != y->is_best ||
            memcmp(&x->val_loss, &y->val_loss, sizeof x->val_loss) != 0 ||
            memcmp(&x->val_mae, &y->val_mae, sizeof x->val_mae) != 0)
            return 0;
    }
    return 1;
}

static void compare(const char *what, const run_log *a, const run_log *b) {
    CHECK(a->last == TRAINER_FINISHED && b->last == TRAINER_FINISHED, "%s: both runs finish", what);
    CHECK(same_steps(a, b), "%s: the same loss and MAE at every step (%d and %d steps)", what, a->n, b->n);
    CHECK(same_epochs(a, b), "%s: the same epoch results", what);
    CHECK(a->nstate == b->nstate && a->state && b->state &&
              memcmp(a->state, b->state, a->nstate * sizeof(float)) == 0 && a->adam_step == b->adam_step,
          "%s: the same weights, statistics and Adam state", what);
    CHECK(memcmp(&a->tp, &b->tp, sizeof a->tp) == 0, "%s: the same progress", what);
}

int main(void) {
    ocl_ctx c;
    ocl_options o = {0};
    ocl_options_from_env(&o);
    o.quiet = 1;
    ocl_init(&c, &o);
    px_set_quiet(1);

    train_settings s;
    train_settings_preset(&s, "default"); // fresh data, cosine schedule, BN re-estimation
    s.samples = 300;
    s.rec.H = s.rec.W = 12;
    char err[128];
    net_config_channels(&s.net, "4,4", err, sizeof err);
    s.batch = 16;
    s.epochs = 3;
    s.bn_reestimate = 4;

    run_log *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    run(&c, &s, 0, -1, a);
    run(&c, &s, 1, -1, b);
    CHECK(a->pairs == 2 && b->pairs == 1, "fresh data: two buffer pairs pipelined (%d), one synchronous (%d)", a->pairs,
          b->pairs);
    CHECK(a->max_drains == 0, "pipelined: no step inside an epoch waits for an empty queue (%ld)", a->max_drains);
    CHECK(a->max_waits == 1, "pipelined: a step waits for one event, the step before's loss (%ld)", a->max_waits);
    CHECK(b->max_waits + b->max_drains >= 1, "synchronous: each step waits for its loss");
    CHECK(a->n == 3 * 14 && a->nepochs == 3, "3 epochs of 14 steps (%d steps, %d epochs)", a->n, a->nepochs);
    compare("fresh data", a, b);
    free(a->state);
    free(b->state);

    train_settings fixed = s;
    fixed.fresh_data = 0;
    run(&c, &fixed, 0, -1, a);
    run(&c, &fixed, 1, -1, b);
    CHECK(a->pairs == 0, "no fresh data: no buffer pairs (%d)", a->pairs);
    compare("fixed data", a, b);
    free(a->state);
    free(b->state);

    // NaN at global step K: epoch K/14 + 1, step K%14 + 1, in both schedules.
    const int64_t nan_at[3] = {20, 13, 0};
    for (int k = 0; k < 3; k++) {
        run(&c, &s, 0, nan_at[k], a);
        run(&c, &s, 1, nan_at[k], b);
        int ep = (int)(nan_at[k] / 14) + 1, stp = (int)(nan_at[k] % 14) + 1;
        CHECK(a->last == TRAINER_DIVERGED && b->last == TRAINER_DIVERGED, "NaN at step %lld: both diverge",
              (long long)nan_at[k]);
        CHECK(a->diverged.epoch == ep && a->diverged.step == stp && b->diverged.epoch == ep &&
                  b->diverged.step == stp && isnan(a->diverged.loss) && isnan(b->diverged.loss),
              "NaN at step %lld: reported at epoch %d step %d (pipelined %d/%d, synchronous %d/%d)",
              (long long)nan_at[k], ep, stp, a->diverged.epoch, a->diverged.step, b->diverged.epoch, b->diverged.step);
        CHECK(same_steps(a, b) && a->n == (int)nan_at[k] && same_epochs(a, b),
              "NaN at step %lld: the same %d callbacks and epochs before it (%d, %d)", (long long)nan_at[k],
              (int)nan_at[k], a->n, b->n);
    }
    free(a);
    free(b);
    ocl_release(&c);
    return t_summary();
}
