#include "ref_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_config.h"
#include "ref_conv.h"

void ref_bn_forward(const double *x, double *y, int N, int C, int H, int W, const double *gamma, const double *beta,
                    double *moving_mean, double *moving_var, int mode, double momentum, double eps, int k,
                    double *mean_out, double *var_out) {
    size_t HW = (size_t)H * W, M = (size_t)N * HW;
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (mode == 0) {
            mean = moving_mean[c];
            var = moving_var[c];
        } else {
            double s = 0;
            for (int n = 0; n < N; n++)
                for (size_t i = 0; i < HW; i++) s += x[((size_t)n * C + c) * HW + i];
            mean = s / (double)M;
            double q = 0;
            for (int n = 0; n < N; n++)
                for (size_t i = 0; i < HW; i++) {
                    double d = x[((size_t)n * C + c) * HW + i] - mean;
                    q += d * d;
                }
            var = q / (double)M;
            if (mode == 1) {
                moving_mean[c] = momentum * moving_mean[c] + (1 - momentum) * mean;
                moving_var[c] = momentum * moving_var[c] + (1 - momentum) * var;
            } else {
                moving_mean[c] += (mean - moving_mean[c]) / k;
                moving_var[c] += (var - moving_var[c]) / k;
            }
        }
        if (mean_out) mean_out[c] = mean;
        if (var_out) var_out[c] = var;
        double inv = 1.0 / sqrt(var + eps);
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < HW; i++) {
                size_t j = ((size_t)n * C + c) * HW + i;
                y[j] = gamma[c] * (x[j] - mean) * inv + beta[c];
            }
    }
}

void ref_bn_backward(const double *x, const double *dy, int N, int C, int H, int W, const double *gamma,
                     const double *mean, const double *var, double eps, int relu, double *dx, double *dgamma,
                     double *dbeta) {
    size_t HW = (size_t)H * W;
    double M = (double)N * (double)HW;
    for (int c = 0; c < C; c++) {
        double inv = 1.0 / sqrt(var[c] + eps), sb = 0, sg = 0;
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < HW; i++) {
                size_t j = ((size_t)n * C + c) * HW + i;
                sb += dy[j];
                sg += dy[j] * (x[j] - mean[c]) * inv;
            }
        dbeta[c] = sb;
        dgamma[c] = sg;
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < HW; i++) {
                size_t j = ((size_t)n * C + c) * HW + i;
                double xhat = (x[j] - mean[c]) * inv;
                double d = gamma[c] * inv * (dy[j] - sb / M - xhat * sg / M);
                dx[j] = (relu && !(x[j] > 0)) ? 0.0 : d;
            }
    }
}

void ref_head_forward(const double *x, const double *w, double b, int N, int Cin, int H, int W, double *s) {
    size_t HW = (size_t)H * W;
    for (int n = 0; n < N; n++)
        for (size_t i = 0; i < HW; i++) {
            double z = b;
            for (int c = 0; c < Cin; c++) z += w[c] * x[((size_t)n * Cin + c) * HW + i];
            s[(size_t)n * HW + i] = 1.0 / (1.0 + exp(-z));
        }
}

void ref_loss_mae(int loss, const double *s, const double *t, size_t n, double *value, double *mae) {
    double se = 0, ae = 0;
    for (size_t i = 0; i < n; i++) {
        se += loss == NET_LOSS_BCE ? -(t[i] * log(s[i]) + (1 - t[i]) * log(1 - s[i])) : (s[i] - t[i]) * (s[i] - t[i]);
        ae += fabs(s[i] - t[i]);
    }
    *value = se / (double)n;
    *mae = ae / (double)n;
}

void ref_head_backward(int loss, const double *x, const double *w, const double *s, const double *t, int N, int Cin,
                       int H, int W, double *dw, double *db, double *dx) {
    size_t HW = (size_t)H * W, T = (size_t)N * HW;
    for (int c = 0; c < Cin; c++) dw[c] = 0;
    *db = 0;
    for (int n = 0; n < N; n++)
        for (size_t i = 0; i < HW; i++) {
            double sv = s[(size_t)n * HW + i], tv = t[(size_t)n * HW + i];
            double dlds =
                loss == NET_LOSS_BCE ? (-tv / sv + (1 - tv) / (1 - sv)) / (double)T : 2.0 * (sv - tv) / (double)T;
            double dz = dlds * sv * (1 - sv);
            *db += dz;
            for (int c = 0; c < Cin; c++) {
                size_t j = ((size_t)n * Cin + c) * HW + i;
                dw[c] += dz * x[j];
                if (dx) dx[j] = dz * w[c];
            }
        }
}

void ref_adam(double *w, const double *g, double *m, double *v, size_t n, int64_t step, double lr, double beta1,
              double beta2, double eps) {
    double t = (double)(step + 1);
    double alpha = lr * sqrt(1 - pow(beta2, t)) / (1 - pow(beta1, t));
    for (size_t i = 0; i < n; i++) {
        m[i] += (g[i] - m[i]) * (1 - beta1);
        v[i] += (g[i] * g[i] - v[i]) * (1 - beta2);
        w[i] -= m[i] * alpha / (sqrt(v[i]) + eps);
    }
}

size_t ref_net_param_count(const net_config *cfg) {
    size_t n = 0;
    int cin = 1;
    for (int i = 0; i < cfg->nblocks; i++) {
        int co = cfg->channels[i];
        n += (size_t)9 * cin * co + co + (cfg->bn[i] ? 2 * (size_t)co : 0);
        cin = co;
    }
    return n + cin + 1;
}

double ref_net_train(const net_config *cfg, int N, int H, int W, const double *p, const double *x, const double *t,
                     double *heat, double *grads, double *dx_out) {
    int L = cfg->nblocks;
    size_t HW = (size_t)H * W;
    double *act[NET_MAX_BLOCKS], *out[NET_MAX_BLOCKS], *mean[NET_MAX_BLOCKS], *var[NET_MAX_BLOCKS];
    size_t po[NET_MAX_BLOCKS][4]; // offsets of kernel, bias, gamma, beta
    const double *in = x;
    int cin = 1;
    size_t o = 0;
    for (int i = 0; i < L; i++) {
        int co = cfg->channels[i];
        size_t sz = (size_t)N * co * HW;
        po[i][0] = o;
        o += (size_t)9 * cin * co;
        po[i][1] = o;
        o += co;
        if (cfg->bn[i]) {
            po[i][2] = o;
            o += co;
            po[i][3] = o;
            o += co;
        }
        act[i] = malloc(sz * sizeof(double));
        ref_conv3x3_forward(in, p + po[i][0], p + po[i][1], act[i], N, cin, co, H, W, cfg->relu[i]);
        mean[i] = var[i] = NULL;
        if (cfg->bn[i]) {
            out[i] = malloc(sz * sizeof(double));
            mean[i] = malloc(co * sizeof(double));
            var[i] = malloc(co * sizeof(double));
            double *mm = calloc(co, sizeof(double)), *mv = calloc(co, sizeof(double));
            ref_bn_forward(act[i], out[i], N, co, H, W, p + po[i][2], p + po[i][3], mm, mv, 1, cfg->bn_momentum,
                           cfg->bn_eps, 1, mean[i], var[i]);
            free(mm);
            free(mv);
        } else {
            out[i] = act[i];
        }
        in = out[i];
        cin = co;
    }
    size_t hw_off = o, hb_off = o + cin;
    double *s = malloc((size_t)N * HW * sizeof(double));
    ref_head_forward(in, p + hw_off, p[hb_off], N, cin, H, W, s);
    double loss, mae;
    ref_loss_mae(cfg->loss, s, t, (size_t)N * HW, &loss, &mae);
    if (heat) memcpy(heat, s, (size_t)N * HW * sizeof(double));
    if (grads || dx_out) {
        double *g = malloc((size_t)N * cin * HW * sizeof(double));
        double dummy_db;
        double *gw = grads ? grads : calloc(ref_net_param_count(cfg), sizeof(double));
        ref_head_backward(cfg->loss, in, p + hw_off, s, t, N, cin, H, W, gw + hw_off, grads ? gw + hb_off : &dummy_db,
                          g);
        for (int i = L - 1; i >= 0; i--) {
            int co = cfg->channels[i], ci = i > 0 ? cfg->channels[i - 1] : 1;
            size_t sz = (size_t)N * co * HW;
            double *dz = malloc(sz * sizeof(double));
            if (cfg->bn[i]) {
                ref_bn_backward(act[i], g, N, co, H, W, p + po[i][2], mean[i], var[i], cfg->bn_eps, cfg->relu[i], dz,
                                gw + po[i][2], gw + po[i][3]);
            } else {
                for (size_t j = 0; j < sz; j++) dz[j] = (cfg->relu[i] && !(act[i][j] > 0)) ? 0.0 : g[j];
            }
            free(g);
            g = malloc((size_t)N * ci * HW * sizeof(double));
            ref_conv3x3_backward(i > 0 ? out[i - 1] : x, p + po[i][0], dz, g, gw + po[i][0], gw + po[i][1], N, ci, co,
                                 H, W);
            free(dz);
        }
        if (dx_out) memcpy(dx_out, g, (size_t)N * HW * sizeof(double));
        free(g);
        if (!grads) free(gw);
    }
    for (int i = 0; i < L; i++) {
        if (out[i] != act[i]) free(out[i]);
        free(act[i]);
        free(mean[i]);
        free(var[i]);
    }
    free(s);
    return loss;
}

#include "layout.h"

float *ref_pad(const double *x, int N, int C, int H, int W, float ring, float margin) {
    act_layout l = act_layout_make(N, C, H, W);
    size_t n = act_floats(&l);
    float *b = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) b[i] = ring;
    for (size_t i = 0; i < l.margin; i++) b[i] = b[n - 1 - i] = margin;
    for (int s = 0; s < N; s++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int j = 0; j < W; j++)
                    b[act_index(&l, s, c, y, j)] = (float)x[(((size_t)s * C + c) * H + y) * W + j];
    return b;
}

void ref_unpad(const float *buf, int N, int C, int H, int W, float *dense) {
    act_layout l = act_layout_make(N, C, H, W);
    for (int s = 0; s < N; s++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int j = 0; j < W; j++)
                    dense[(((size_t)s * C + c) * H + y) * W + j] = buf[act_index(&l, s, c, y, j)];
}

long ref_ring_margin_errors(const float *buf, int N, int C, int H, int W) {
    act_layout l = act_layout_make(N, C, H, W);
    size_t n = act_floats(&l);
    long bad = 0;
    for (size_t i = 0; i < l.margin; i++) bad += !isnan(buf[i]) + !isnan(buf[n - 1 - i]);
    for (size_t p = 0; p < (size_t)N * C; p++)
        for (int y = 0; y < l.PH; y++)
            for (int j = 0; j < l.PW; j++) {
                if (y >= 1 && y <= H && j >= 1 && j <= W) continue;
                if (buf[l.margin + p * l.plane + (size_t)y * l.PW + j] != 0.0f) bad++;
            }
    return bad;
}
