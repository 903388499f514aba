// index.html of a report: one self-contained page (inline CSS, no scripts, no
// network), images referenced by relative file names beside it in report/.
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pixloc.h"
#include "report.h"

// Text with &, <, >, " escaped.
static void sb_text(px_sbuf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': px_sbuf_add(b, "&amp;", 5); break;
        case '<': px_sbuf_add(b, "&lt;", 4); break;
        case '>': px_sbuf_add(b, "&gt;", 4); break;
        case '"': px_sbuf_add(b, "&quot;", 6); break;
        default: px_sbuf_add(b, s, 1);
        }
    }
}

// Numbers: 4 decimals in the usual range, scientific when tiny or huge.
static void sb_num(px_sbuf *b, double v) {
    if (!isfinite(v))
        px_sbuf_printf(b, "%s", isnan(v) ? "–" : v > 0 ? "∞" : "−∞");
    else if (v == 0 || (fabs(v) >= 1e-3 && fabs(v) < 1e6))
        px_sbuf_printf(b, "%.4f", v);
    else
        px_sbuf_printf(b, "%.3e", v);
}

static const cJSON *obj_get(const cJSON *o, const char *key) {
    return o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static double num_or_nan(const cJSON *o, const char *key) {
    const cJSON *v = obj_get(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

// A duration like "12 min 41 s".
static void sb_duration(px_sbuf *b, double s) {
    if (!isfinite(s) || s < 0)
        px_sbuf_add(b, "–", strlen("–"));
    else if (s < 60)
        px_sbuf_printf(b, "%.1f s", s);
    else if (s < 3600)
        px_sbuf_printf(b, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else
        px_sbuf_printf(b, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

// JSON value for the configuration table; nested objects become nested tables.
static void sb_json_value(px_sbuf *b, const cJSON *v, int depth) {
    if (cJSON_IsString(v)) {
        sb_text(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 1e15)
            px_sbuf_printf(b, "%.0f", d);
        else
            px_sbuf_printf(b, "%.6g", d);
    } else if (cJSON_IsBool(v)) {
        px_sbuf_printf(b, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsNull(v)) {
        px_sbuf_printf(b, "<span class=muted>null</span>");
    } else if (cJSON_IsObject(v) && depth < 4) {
        px_sbuf_printf(b, "<table class=nested>");
        for (const cJSON *c = v->child; c; c = c->next) {
            px_sbuf_printf(b, "<tr><th>");
            sb_text(b, c->string);
            px_sbuf_printf(b, "</th><td>");
            sb_json_value(b, c, depth + 1);
            px_sbuf_printf(b, "</td></tr>");
        }
        px_sbuf_printf(b, "</table>");
    } else if (cJSON_IsArray(v)) {
        int scalars = 1;
        for (const cJSON *c = v->child; c; c = c->next)
            if (cJSON_IsObject(c) || cJSON_IsArray(c)) scalars = 0;
        if (scalars) {
            px_sbuf_printf(b, "[");
            for (const cJSON *c = v->child; c; c = c->next) {
                sb_json_value(b, c, depth + 1);
                if (c->next) px_sbuf_printf(b, ", ");
            }
            px_sbuf_printf(b, "]");
        } else {
            char *s = cJSON_PrintUnformatted(v);
            px_sbuf_printf(b, "<code>");
            sb_text(b, s ? s : "?");
            px_sbuf_printf(b, "</code>");
            free(s);
        }
    } else {
        char *s = cJSON_PrintUnformatted(v);
        px_sbuf_printf(b, "<code>");
        sb_text(b, s ? s : "?");
        px_sbuf_printf(b, "</code>");
        free(s);
    }
}

static const char *CSS = "*{box-sizing:border-box}"
                         "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
                         "color:#212529;background:#f4f5f7;margin:0}"
                         "main{max-width:1140px;margin:0 auto;padding:24px 28px 48px}"
                         "h1{font-size:26px;margin:0 0 2px}h2{font-size:19px;margin:34px 0 10px;"
                         "border-bottom:2px solid #dde1e6;padding-bottom:4px}"
                         ".sub{color:#6c757d;margin:0 0 18px;word-break:break-all}"
                         ".cards{display:flex;flex-wrap:wrap;gap:12px}"
                         ".card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 14px;"
                         "min-width:120px;flex:1 1 120px}"
                         ".card.wide{flex:2.2 1 250px}.card.wide .v{font-size:15px;white-space:normal}"
                         ".card .s{font-size:12px;color:#6c757d}"
                         ".card .k{font-size:12px;color:#6c757d;text-transform:uppercase;letter-spacing:.04em}"
                         ".card .v{font-size:19px;font-weight:600;margin-top:2px;white-space:nowrap}"
                         "h3{font-size:15px;margin:18px 0 6px;color:#495057}"
                         ".note{background:#fff8e1;border:1px solid #f0d58a;border-radius:6px;padding:8px 12px;"
                         "margin:10px 0}"
                         "table{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums}"
                         "table.data{width:100%;border:1px solid #dde1e6;font-size:14px}"
                         "table.data th,table.data td{padding:5px 9px;border-bottom:1px solid #eceef1;text-align:right}"
                         "table.data th:first-child,table.data td:first-child{text-align:left}"
                         "table.data thead th{background:#eef1f4;position:sticky;top:0}"
                         "tr.base td{color:#495057;background:#fafbfc}tr.best td{background:#e7f5e9;font-weight:600}"
                         "tr.last td{background:#eef4ff}"
                         ".scroll{max-height:430px;overflow:auto;border:1px solid #dde1e6}"
                         ".scroll table.data{border:0}"
                         "table.kv{width:100%;border:1px solid #dde1e6;font-size:14px}"
                         "table.kv th,table.kv td{text-align:left;padding:4px 10px;border-bottom:1px solid #eceef1;"
                         "vertical-align:top}table.kv>tbody>tr>th{width:30%;color:#495057;font-weight:600}"
                         "table.nested th,table.nested td{padding:1px 8px 1px 0;border:0;font-size:13px}"
                         "table.nested th{color:#6c757d;font-weight:500}"
                         "code{font:13px ui-monospace,'DejaVu Sans Mono',monospace}"
                         ".muted{color:#868e96}"
                         ".figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}"
                         "figure{margin:0;background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px}"
                         "figure img{display:block;max-width:100%;height:auto;margin:0 auto}"
                         "figcaption{font-size:13px;color:#495057;margin-top:6px}"
                         "footer{margin-top:40px;color:#868e96;font-size:12px}";

static void card(px_sbuf *b, const char *cls, const char *key, const char *value_html) {
    px_sbuf_printf(b, "<div class='card %s'><div class=k>%s</div><div class=v>%s</div></div>\n", cls, key, value_html);
}

static void figure(px_sbuf *b, const report_figure *f) {
    px_sbuf_printf(b, "<figure><img src=\"%s\" alt=\"", f->file);
    sb_text(b, f->title);
    px_sbuf_printf(b, "\"><figcaption><b>");
    sb_text(b, f->title);
    px_sbuf_printf(b, ".</b> ");
    sb_text(b, f->caption ? f->caption : "");
    px_sbuf_printf(b, "</figcaption></figure>\n");
}

static const report_figure *find_fig(const report_page *p, const char *file) {
    for (int i = 0; i < p->nfigs; i++)
        if (strcmp(p->figs[i].file, file) == 0) return &p->figs[i];
    return NULL;
}

static void metrics_row(px_sbuf *b, const char *label, const cJSON *m, int baseline) {
    px_sbuf_printf(b, "<tr%s><td>%s</td>", baseline ? " class=base" : "", label);
    if (!cJSON_IsObject(m)) {
        px_sbuf_printf(b, "<td colspan=11 class=muted style='text-align:left'>not in metrics.json</td>");
    } else {
        double n = num_or_nan(m, "n");
        if (isfinite(n))
            px_sbuf_printf(b, "<td>%.0f</td>", n);
        else
            px_sbuf_printf(b, "<td>–</td>");
        static const char *keys[] = {"mae",        "mse",           "rmse",       "euclid_mean",
                                     "euclid_std", "euclid_median", "euclid_p95", "euclid_max"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            px_sbuf_printf(b, "<td>");
            sb_num(b, num_or_nan(m, keys[k]));
            px_sbuf_printf(b, "</td>");
        }
        static const char *pct[] = {"exact", "within1"};
        for (int k = 0; k < 2; k++) {
            double v = num_or_nan(m, pct[k]);
            if (isfinite(v))
                px_sbuf_printf(b, "<td>%.1f%%</td>", 100 * v);
            else
                px_sbuf_printf(b, "<td>–</td>");
        }
    }
    px_sbuf_printf(b, "</tr>\n");
}

static void history_row(px_sbuf *b, const report_page *p, int i) {
    const report_history *h = p->hist;
    const char *cls = i == p->best ? " class=best" : i == h->n - 1 ? " class=last" : "";
    px_sbuf_printf(b, "<tr%s><td>%.0f%s</td>", cls, h->epoch[i],
                   i == p->best && i == h->n - 1 ? " (best, final)"
                   : i == p->best                ? " (best)"
                   : i == h->n - 1               ? " (final)"
                                                 : "");
    const double v[6] = {h->loss[i], h->mae[i], h->val_loss[i], h->val_mae[i], h->seconds[i], h->samples_per_s[i]};
    for (int k = 0; k < 6; k++) {
        px_sbuf_printf(b, "<td>");
        if (k == 4 && isfinite(v[k]))
            px_sbuf_printf(b, "%.2f", v[k]);
        else if (k == 5 && isfinite(v[k]))
            px_sbuf_printf(b, "%.0f", v[k]);
        else
            sb_num(b, v[k]);
        px_sbuf_printf(b, "</td>");
    }
    px_sbuf_printf(b, "</tr>\n");
}

// The given rows of the history; `scroll` puts the table in a scrolling box.
static void history_table(px_sbuf *b, const report_page *p, const int *rows, int nrows, int scroll) {
    px_sbuf_printf(b,
                   "%s<table class=data><thead><tr><th>epoch</th><th>loss</th>"
                   "<th>MAE</th><th>val loss</th><th>val MAE</th><th>seconds</th>"
                   "<th>samples/s</th></tr></thead><tbody>\n",
                   scroll ? "<div class=scroll>" : "");
    for (int r = 0; r < nrows; r++) history_row(b, p, rows[r]);
    px_sbuf_printf(b, "</tbody></table>%s\n", scroll ? "</div>" : "");
}

// Sum of the epochs' training seconds; *have = 0 when no epoch recorded any.
static double history_seconds(const report_history *h, int *have) {
    double s = 0;
    *have = 0;
    for (int i = 0; i < h->n; i++)
        if (isfinite(h->seconds[i])) s += h->seconds[i], *have = 1;
    return s;
}

// The summary cards: device, epochs, best epoch, time and the test headline figures.
static void summary_cards(px_sbuf *out, const report_page *p, const cJSON *test) {
    const report_history *h = p->hist;
    const cJSON *dev = obj_get(p->config, "device");
    px_sbuf v = {0};
    px_sbuf_printf(out, "<div class=cards>\n");
    v.len = 0;
    if (cJSON_IsString(dev))
        sb_text(&v, dev->valuestring);
    else
        px_sbuf_printf(&v, "<span class=muted>not recorded</span>");
    card(out, "wide", "device", v.s);
    v.len = 0;
    px_sbuf_printf(&v, "%d", h->n);
    card(out, "", "epochs", v.s);
    v.len = 0;
    if (p->best >= 0)
        px_sbuf_printf(&v, "%.0f<div class=s>lowest %s</div>", h->epoch[p->best], p->best_by);
    else
        px_sbuf_printf(&v, "–");
    card(out, "", "best epoch", v.s);
    v.len = 0;
    double total = num_or_nan(p->config, "seconds_total");
    int have_s;
    double train_s = history_seconds(h, &have_s);
    sb_duration(&v, isfinite(total) ? total : have_s ? train_s : NAN);
    card(out, "", "total time", v.s);
    if (test) {
        v.len = 0;
        sb_num(&v, num_or_nan(test, "mae"));
        card(out, "", "test MAE (px)", v.s);
        v.len = 0;
        double ex = num_or_nan(test, "exact");
        if (isfinite(ex))
            px_sbuf_printf(&v, "%.1f%%", 100 * ex);
        else
            px_sbuf_printf(&v, "–");
        card(out, "", "test exact", v.s);
        v.len = 0;
        sb_num(&v, num_or_nan(test, "euclid_mean"));
        card(out, "", "test mean dist. (px)", v.s);
    }
    px_sbuf_printf(out, "</div>\n");
    free(v.s);
}

// The coordinate-metrics table (train, validation, test and both baselines).
static void metrics_section(px_sbuf *out, const report_page *p, const cJSON *sets, const cJSON *test) {
    px_sbuf_printf(out, "<h2>Coordinate metrics</h2>\n");
    if (!p->metrics) {
        px_sbuf_printf(out, "<p class=muted>No metrics.json in the run directory.</p>\n");
    } else {
        const cJSON *bs = obj_get(p->metrics, "baseline_set");
        const char *bset = cJSON_IsString(bs) ? bs->valuestring : "test";
        px_sbuf_printf(out, "<table class=data><thead><tr><th>set</th><th>n</th><th>MAE</th>"
                            "<th>MSE</th><th>RMSE</th><th>mean dist.</th><th>std dist.</th>"
                            "<th>median dist.</th><th>p95 dist.</th><th>max dist.</th>"
                            "<th>exact</th><th>within 1 px</th></tr></thead><tbody>\n");
        metrics_row(out, "train", obj_get(sets, "train"), 0);
        metrics_row(out, "validation", obj_get(sets, "val"), 0);
        metrics_row(out, "test", test, 0);
        px_sbuf lab = {0};
        const cJSON *best = obj_get(p->metrics, "best_checkpoint"); // the best epoch's, when not the last
        if (cJSON_IsObject(best)) {
            double epoch = num_or_nan(best, "epoch");
            static const char *const keys[] = {"val", "test"}, *const names[] = {"validation", "test"};
            for (int k = 0; k < 2; k++) {
                lab.len = 0;
                px_sbuf_printf(&lab, "%s <span class=muted>(best.safetensors, epoch %.0f)</span>", names[k], epoch);
                metrics_row(out, lab.s, obj_get(obj_get(best, "sets"), keys[k]), 0);
            }
        }
        const cJSON *base = obj_get(p->metrics, "baselines");
        lab.len = 0;
        px_sbuf_printf(&lab, "brightest pixel <span class=muted>(");
        sb_text(&lab, bset);
        px_sbuf_printf(&lab, ")</span>");
        metrics_row(out, lab.s, obj_get(base, "brightest_pixel"), 1);
        lab.len = 0;
        px_sbuf_printf(&lab, "matched filter <span class=muted>(");
        sb_text(&lab, bset);
        px_sbuf_printf(&lab, ")</span>");
        metrics_row(out, lab.s, obj_get(base, "matched_filter"), 1);
        if (obj_get(base, "bayes_map")) { // metrics.json before the MAP detector has none
            lab.len = 0;
            px_sbuf_printf(&lab, "Bayes (MAP) detector <span class=muted>(");
            sb_text(&lab, bset);
            px_sbuf_printf(&lab, ")</span>");
            metrics_row(out, lab.s, obj_get(base, "bayes_map"), 1);
        }
        free(lab.s);
        px_sbuf_printf(out,
                       "</tbody></table>\n<p class=muted style='font-size:13px'>Coordinates are "
                       "the argmax of the heatmap. MAE, MSE and RMSE average over x and y "
                       "together (as sklearn does on (N, 2) arrays); distances are Euclidean, in "
                       "pixels; exact: both coordinates right; within 1 px: distance ≤ 1. "
                       "%s"
                       "Baselines: raw argmax of the image, and argmax after correlating with the "
                       "blur kernel; the Bayes (MAP) detector knows how the images were made "
                       "(blur, noise, the background-noise level), so its exact-hit rate is the "
                       "best any method can reach on them.</p>\n",
                       cJSON_IsObject(best)
                           ? "Train, validation and test rows are the final model's; the rows marked "
                             "best.safetensors are those of the epoch with the lowest validation loss, "
                             "which <code>pixloc eval</code> and <code>predict</code> use on a run "
                             "directory. "
                           : "");
    }
}

// The history: the best and final epochs, then every epoch.
static void history_section(px_sbuf *out, const report_page *p) {
    const report_history *h = p->hist;
    int have_s;
    double train_s = history_seconds(h, &have_s);
    px_sbuf_printf(out, "<h2>Training history</h2>\n");
    px_sbuf_printf(out, "<p>%d epochs", h->n);
    if (have_s) px_sbuf_printf(out, " in "), sb_duration(out, train_s);
    px_sbuf_printf(out, ". ");
    if (p->best >= 0) px_sbuf_printf(out, "Best epoch (lowest %s) and final epoch:", p->best_by);
    px_sbuf_printf(out, "</p>\n");
    int key[2], nkey = 0;
    if (p->best >= 0) key[nkey++] = p->best;
    if (p->best != h->n - 1) key[nkey++] = h->n - 1;
    history_table(out, p, key, nkey, 0);
    px_sbuf_printf(out, "<h3>Every epoch</h3>\n");
    int *all = px_malloc(sizeof(int) * h->n, "history rows");
    for (int i = 0; i < h->n; i++) all[i] = i;
    history_table(out, p, all, h->n, 1);
    free(all);
}

int report_html_write(const char *path, const report_page *p, char *err, size_t errlen) {
    px_sbuf b = {0};
    const cJSON *sets = obj_get(p->metrics, "sets");
    const cJSON *test = obj_get(sets, "test");

    px_sbuf_printf(&b,
                   "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n"
                   "<meta name=viewport content='width=device-width,initial-scale=1'>\n"
                   "<title>pixloc report</title>\n<style>%s</style></head>\n<body><main>\n",
                   CSS);
    px_sbuf_printf(&b, "<h1>pixloc training report</h1>\n<p class=sub>run directory <code>");
    sb_text(&b, p->run_dir);
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    px_sbuf_printf(&b, "</code> · generated %s by pixloc %s</p>\n", when, PIXLOC_VERSION);

    summary_cards(&b, p, test);

    for (int i = 0; i < p->nnotes; i++) {
        px_sbuf_printf(&b, "<p class=note>");
        sb_text(&b, p->notes[i]);
        px_sbuf_printf(&b, "</p>\n");
    }

    metrics_section(&b, p, sets, test);

    // Figures.
    px_sbuf_printf(&b, "<h2>Training curves</h2>\n<div class=figs>\n");
    const report_figure *f;
    if ((f = find_fig(p, "loss.png"))) figure(&b, f);
    if ((f = find_fig(p, "mae.png"))) figure(&b, f);
    px_sbuf_printf(&b, "</div>\n");
    px_sbuf_printf(&b, "<h2>Error distribution</h2>\n");
    if ((f = find_fig(p, "errors.png")))
        figure(&b, f);
    else
        px_sbuf_printf(&b, "<p class=muted>No per-sample errors available.</p>\n");

    px_sbuf_printf(&b, "<h2>Test samples</h2>\n");
    if ((f = find_fig(p, "samples.png")))
        px_sbuf_printf(&b, "<div style='max-width:760px'>"), figure(&b, f), px_sbuf_printf(&b, "</div>\n");
    else
        px_sbuf_printf(&b, "<p class=muted>No report_samples.safetensors in the run directory.</p>\n");
    history_section(&b, p);

    // Configuration: every key.
    px_sbuf_printf(&b, "<h2>Settings</h2>\n<table class=kv><tbody>\n");
    for (const cJSON *c = p->config->child; c; c = c->next) {
        px_sbuf_printf(&b, "<tr><th>");
        sb_text(&b, c->string);
        px_sbuf_printf(&b, "</th><td>");
        sb_json_value(&b, c, 0);
        px_sbuf_printf(&b, "</td></tr>\n");
    }
    px_sbuf_printf(&b, "</tbody></table>\n");
    px_sbuf_printf(&b,
                   "<footer>pixloc %s · from config.json, history.csv, metrics.json and "
                   "report_samples.safetensors</footer>\n</main></body></html>\n",
                   PIXLOC_VERSION);

    int rc = 0;
    if (px_write_file_atomic(path, b.s, b.len) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        rc = -1;
    }
    free(b.s);
    return rc;
}
