// Checkpoint -> net for a given image size; see predictor.h.
#include "predictor.h"

#include <stdio.h>

#include "checkpoint.h"

int predictor_open(predictor *p, ocl_ctx *c, const char *model, char *err, size_t errlen) {
    *p = (predictor){0};
    p->c = c;
    checkpoint_resolve(model, "best", p->ckpt, sizeof p->ckpt);
    return checkpoint_read_settings(p->ckpt, &p->s, err, errlen);
}

int predictor_size(predictor *p, int H, int W, int batch, char *err, size_t errlen) {
    if (p->nt && p->H == H && p->W == W && p->batch >= batch) return batch;
    if (!net_plan_check_kind(p->c, &p->s.net, H, W, batch, NET_KIND_INFERENCE, NULL, NULL)) {
        long fit = net_largest_batch_kind(p->c, &p->s.net, H, W, NET_KIND_INFERENCE);
        if (fit < 1) {
            const char *name = "?";
            size_t bytes = 0;
            net_plan_check_kind(p->c, &p->s.net, H, W, 1, NET_KIND_INFERENCE, &name, &bytes);
            snprintf(err, errlen,
                     "a %dx%d image needs the network buffer '%s' of %.1f MiB, more than %s allows "
                     "(largest allocation %.1f MiB): use a smaller image",
                     H, W, name, (double)bytes / (1 << 20), p->c->device_name, (double)ocl_alloc_cap(p->c) / (1 << 20));
            return 0;
        }
        batch = (int)fit;
    }
    predictor_free(p);
    p->nt = net_create_kind(p->c, &p->s.net, H, W, batch, NET_KIND_INFERENCE);
    if (checkpoint_load(p->ckpt, p->nt, NULL, err, errlen) != 0) {
        predictor_free(p);
        return -1;
    }
    p->H = H;
    p->W = W;
    p->batch = batch;
    return batch;
}

void predictor_free(predictor *p) {
    if (p->nt) net_free(p->nt);
    p->nt = NULL;
    p->H = p->W = p->batch = 0;
}
