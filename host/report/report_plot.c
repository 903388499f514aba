// Report figures drawn with PLplot's pngcairo driver: training curves, error
// histograms and the grid of test samples. PLplot keeps global state, so each
// figure is one plinit ... plend of its own.
#include <math.h>
#include <plplot/plplot.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pixloc.h"
#include "report.h"

// matplotlib's viridis colour map (perceptually uniform, readable in gray and by
// colour-blind readers), 256 entries of 8-bit RGB.
static const unsigned char viridis[256][3] = {
    {68, 1, 84},    {68, 2, 86},    {69, 4, 87},    {69, 5, 89},    {70, 7, 90},    {70, 8, 92},    {70, 10, 93},
    {70, 11, 94},   {71, 13, 96},   {71, 14, 97},   {71, 16, 99},   {71, 17, 100},  {71, 19, 101},  {72, 20, 103},
    {72, 22, 104},  {72, 23, 105},  {72, 24, 106},  {72, 26, 108},  {72, 27, 109},  {72, 28, 110},  {72, 29, 111},
    {72, 31, 112},  {72, 32, 113},  {72, 33, 115},  {72, 35, 116},  {72, 36, 117},  {72, 37, 118},  {72, 38, 119},
    {72, 40, 120},  {72, 41, 121},  {71, 42, 122},  {71, 44, 122},  {71, 45, 123},  {71, 46, 124},  {71, 47, 125},
    {70, 48, 126},  {70, 50, 126},  {70, 51, 127},  {70, 52, 128},  {69, 53, 129},  {69, 55, 129},  {69, 56, 130},
    {68, 57, 131},  {68, 58, 131},  {68, 59, 132},  {67, 61, 132},  {67, 62, 133},  {66, 63, 133},  {66, 64, 134},
    {66, 65, 134},  {65, 66, 135},  {65, 68, 135},  {64, 69, 136},  {64, 70, 136},  {63, 71, 136},  {63, 72, 137},
    {62, 73, 137},  {62, 74, 137},  {62, 76, 138},  {61, 77, 138},  {61, 78, 138},  {60, 79, 138},  {60, 80, 139},
    {59, 81, 139},  {59, 82, 139},  {58, 83, 139},  {58, 84, 140},  {57, 85, 140},  {57, 86, 140},  {56, 88, 140},
    {56, 89, 140},  {55, 90, 140},  {55, 91, 141},  {54, 92, 141},  {54, 93, 141},  {53, 94, 141},  {53, 95, 141},
    {52, 96, 141},  {52, 97, 141},  {51, 98, 141},  {51, 99, 141},  {50, 100, 142}, {50, 101, 142}, {49, 102, 142},
    {49, 103, 142}, {49, 104, 142}, {48, 105, 142}, {48, 106, 142}, {47, 107, 142}, {47, 108, 142}, {46, 109, 142},
    {46, 110, 142}, {46, 111, 142}, {45, 112, 142}, {45, 113, 142}, {44, 113, 142}, {44, 114, 142}, {44, 115, 142},
    {43, 116, 142}, {43, 117, 142}, {42, 118, 142}, {42, 119, 142}, {42, 120, 142}, {41, 121, 142}, {41, 122, 142},
    {41, 123, 142}, {40, 124, 142}, {40, 125, 142}, {39, 126, 142}, {39, 127, 142}, {39, 128, 142}, {38, 129, 142},
    {38, 130, 142}, {38, 130, 142}, {37, 131, 142}, {37, 132, 142}, {37, 133, 142}, {36, 134, 142}, {36, 135, 142},
    {35, 136, 142}, {35, 137, 142}, {35, 138, 141}, {34, 139, 141}, {34, 140, 141}, {34, 141, 141}, {33, 142, 141},
    {33, 143, 141}, {33, 144, 141}, {33, 145, 140}, {32, 146, 140}, {32, 146, 140}, {32, 147, 140}, {31, 148, 140},
    {31, 149, 139}, {31, 150, 139}, {31, 151, 139}, {31, 152, 139}, {31, 153, 138}, {31, 154, 138}, {30, 155, 138},
    {30, 156, 137}, {30, 157, 137}, {31, 158, 137}, {31, 159, 136}, {31, 160, 136}, {31, 161, 136}, {31, 161, 135},
    {31, 162, 135}, {32, 163, 134}, {32, 164, 134}, {33, 165, 133}, {33, 166, 133}, {34, 167, 133}, {34, 168, 132},
    {35, 169, 131}, {36, 170, 131}, {37, 171, 130}, {37, 172, 130}, {38, 173, 129}, {39, 173, 129}, {40, 174, 128},
    {41, 175, 127}, {42, 176, 127}, {44, 177, 126}, {45, 178, 125}, {46, 179, 124}, {47, 180, 124}, {49, 181, 123},
    {50, 182, 122}, {52, 182, 121}, {53, 183, 121}, {55, 184, 120}, {56, 185, 119}, {58, 186, 118}, {59, 187, 117},
    {61, 188, 116}, {63, 188, 115}, {64, 189, 114}, {66, 190, 113}, {68, 191, 112}, {70, 192, 111}, {72, 193, 110},
    {74, 193, 109}, {76, 194, 108}, {78, 195, 107}, {80, 196, 106}, {82, 197, 105}, {84, 197, 104}, {86, 198, 103},
    {88, 199, 101}, {90, 200, 100}, {92, 200, 99},  {94, 201, 98},  {96, 202, 96},  {99, 203, 95},  {101, 203, 94},
    {103, 204, 92}, {105, 205, 91}, {108, 205, 90}, {110, 206, 88}, {112, 207, 87}, {115, 208, 86}, {117, 208, 84},
    {119, 209, 83}, {122, 209, 81}, {124, 210, 80}, {127, 211, 78}, {129, 211, 77}, {132, 212, 75}, {134, 213, 73},
    {137, 213, 72}, {139, 214, 70}, {142, 214, 69}, {144, 215, 67}, {147, 215, 65}, {149, 216, 64}, {152, 216, 62},
    {155, 217, 60}, {157, 217, 59}, {160, 218, 57}, {162, 218, 55}, {165, 219, 54}, {168, 219, 52}, {170, 220, 50},
    {173, 220, 48}, {176, 221, 47}, {178, 221, 45}, {181, 222, 43}, {184, 222, 41}, {186, 222, 40}, {189, 223, 38},
    {192, 223, 37}, {194, 223, 35}, {197, 224, 33}, {200, 224, 32}, {202, 225, 31}, {205, 225, 29}, {208, 225, 28},
    {210, 226, 27}, {213, 226, 26}, {216, 226, 25}, {218, 227, 25}, {221, 227, 24}, {223, 227, 24}, {226, 228, 24},
    {229, 228, 25}, {231, 228, 25}, {234, 229, 26}, {236, 229, 27}, {239, 229, 28}, {241, 229, 29}, {244, 230, 30},
    {246, 230, 32}, {248, 230, 33}, {251, 231, 35}, {253, 231, 37},
};

// cmap0 slots used by every figure.
enum { C_BG, C_FG, C_GRID, C_TRAIN, C_VAL, C_BEST, C_BAR, C_MUTED, C_TRUE, C_PRED, C_WHITE, C_N };

static const unsigned char palette[C_N][3] = {
    [C_BG] = {255, 255, 255}, [C_FG] = {33, 37, 41},    [C_GRID] = {225, 228, 232},  [C_TRAIN] = {31, 119, 180},
    [C_VAL] = {255, 127, 14}, [C_BEST] = {214, 39, 40}, [C_BAR] = {76, 114, 176},    [C_MUTED] = {110, 117, 125},
    [C_TRUE] = {255, 40, 40}, [C_PRED] = {0, 229, 255}, [C_WHITE] = {255, 255, 255},
};

// PLplot reports recoverable problems through plabort; keep the first message so
// the figure can fail with it instead of PLplot printing to stderr.
static char g_plabort[256];
static void on_plabort(PLCHAR_VECTOR msg) {
    if (!g_plabort[0]) snprintf(g_plabort, sizeof g_plabort, "%s", msg);
}

int report_plot_check(char *err, size_t errlen) {
    // plgDevs fills caller-provided arrays; n is their capacity on input.
    const char *menu_store[128], *names_store[128];
    const char **menu = menu_store, **names = names_store;
    int n = 128;
    plgDevs(&menu, &names, &n);
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], "pngcairo") == 0) return 0;
    px_errf(err, errlen,
            "PLplot's PNG driver 'pngcairo' is not available; install the Debian package "
            "plplot-driver-cairo");
    return -1;
}

// Text size in (approximately) pixels: PLplot's default scales with the page,
// which makes tall figures shout. pngcairo renders at 90 dpi.
static void text_px(double px) { plschr(px * 25.4 / 90.0, 1.0); }

// Starts a figure of w x h pixels written to path.
static void fig_begin(const char *path, int w, int h) {
    g_plabort[0] = 0;
    plsabort(on_plabort);
    plsdev("pngcairo");
    plsfnam(path);
    plspage(0, 0, w, h, 0, 0);
    plscmap0n(16);
    for (int i = 0; i < C_N; i++) plscol0(i, palette[i][0], palette[i][1], palette[i][2]);
    plsfci(0); // sans-serif
    plinit();
    pladv(0);
    text_px(15);
}

static int fig_end(const char *path, char *err, size_t errlen) {
    plend();
    if (g_plabort[0]) {
        px_errf(err, errlen, "%s: PLplot: %s", path, g_plabort);
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        px_errf(err, errlen, "%s: %s", path, "PLplot did not write the figure");
        return -1;
    }
    fclose(f);
    return 0;
}

static double safe_log10(double v) { return log10(v > 1e-30 ? v : 1e-30); }

// Draws the finite runs of y (already log10) as separate polylines.
static void line_segments(const double *x, const double *y, int n) {
    int i = 0;
    while (i < n) {
        while (i < n && !isfinite(y[i])) i++;
        int j = i;
        while (j < n && isfinite(y[j])) j++;
        if (j - i == 1) {
            PLFLT px = x[i], py = y[i];
            plpoin(1, &px, &py, 17);
        } else if (j > i) {
            plline(j - i, x + i, y + i);
        }
        i = j;
    }
}

// Light grid then axes with log y labels; decades [ylo, yhi].
static void axes_log_y(double xmin, double xmax, double ylo, double yhi) {
    plwind(xmin, xmax, ylo, yhi);
    plcol0(C_GRID);
    plwidth(1);
    plbox("g", 0, 0, "gl", 0, 0);
    plcol0(C_FG);
    text_px(14);
    plbox("bcnst", 0, 0, "bcnstlv", 0, 0);
}

static void nice_log_range(const double *a, const double *b, int n, double *lo, double *hi) {
    double mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < n; i++) {
        const double v[2] = {a ? a[i] : NAN, b ? b[i] : NAN};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k]) && v[k] > 0) {
                if (v[k] < mn) mn = v[k];
                if (v[k] > mx) mx = v[k];
            }
    }
    if (!isfinite(mn)) mn = 1e-3, mx = 1;
    *lo = floor(log10(mn) - 0.01);
    *hi = ceil(log10(mx) + 0.01);
    if (*hi - *lo < 1) *hi = *lo + 1;
}

int report_plot_curves(const char *path, const char *title, const char *ylabel, const report_history *h,
                       const double *train, const double *val, int best, const char *best_by, char *err,
                       size_t errlen) {
    const int n = h->n;
    double *lt = malloc(sizeof(double) * (n + 1)), *lv = malloc(sizeof(double) * (n + 1));
    if (!lt || !lv) {
        free(lt), free(lv);
        px_errf(err, errlen, "%s: %s", path, "out of memory");
        return -1;
    }
    int have_val = 0;
    for (int i = 0; i < n; i++) {
        lt[i] = isfinite(train[i]) ? safe_log10(train[i]) : NAN;
        lv[i] = val && isfinite(val[i]) ? safe_log10(val[i]) : NAN;
        have_val |= isfinite(lv[i]);
    }
    double ylo, yhi;
    nice_log_range(train, val, n, &ylo, &yhi);
    double x0 = h->epoch[0], x1 = h->epoch[n - 1];
    if (!(x1 > x0)) x0 -= 1, x1 += 1;
    double pad = 0.02 * (x1 - x0);

    fig_begin(path, 800, 500);
    plvpor(0.10, 0.97, 0.12, 0.82);
    axes_log_y(x0 - pad, x1 + pad, ylo, yhi);
    plcol0(C_FG);
    text_px(19);
    plmtex("t", 4.3, 0.5, 0.5, title);
    text_px(15);
    plmtex("b", 2.9, 0.5, 0.5, "epoch");
    plmtex("l", 4.0, 0.5, 0.5, ylabel);

    plwidth(2.2);
    plcol0(C_TRAIN);
    line_segments(h->epoch, lt, n);
    if (have_val) {
        plcol0(C_VAL);
        line_segments(h->epoch, lv, n);
    }

    char best_text[128] = "";
    if (best >= 0 && best < n) {
        const double *src = strcmp(best_by, "val_loss") == 0 ? lv : lt;
        PLFLT bx[2] = {h->epoch[best], h->epoch[best]}, by[2] = {ylo, yhi};
        plcol0(C_BEST);
        plwidth(1.2);
        pllsty(2);
        plline(2, bx, by);
        pllsty(1);
        PLFLT px = h->epoch[best], py = isfinite(src[best]) ? src[best] : ylo;
        text_px(20);
        plstring(1, &px, &py, "●");
        snprintf(best_text, sizeof best_text, "best epoch %.0f (lowest %s)", h->epoch[best], best_by);
    }

    // Legend in one row between the title and the plot, where it hides no data.
    // Laid out in page pixels; text width estimated at 0.55 em per character.
    const char *names[3] = {"training", "validation", best_text};
    const int cols[3] = {C_TRAIN, C_VAL, C_BEST};
    int show[3] = {1, have_val, best_text[0] != 0};
    const double fs = 15, sample = 34, gap = 8, sep = 30, yrow = 0.895 * 500;
    double total = 0;
    for (int i = 0; i < 3; i++)
        if (show[i]) total += sample + gap + 0.55 * fs * strlen(names[i]) + sep;
    double x = (800 - (total - sep)) / 2;
    plvpor(0, 1, 0, 1);
    plwind(0, 800, 0, 500);
    text_px(fs);
    for (int i = 0; i < 3; i++) {
        if (!show[i]) continue;
        PLFLT lx[2] = {x, x + sample}, ly[2] = {yrow, yrow};
        plcol0(cols[i]);
        plwidth(i == 2 ? 1.2 : 2.4);
        pllsty(i == 2 ? 2 : 1);
        plline(2, lx, ly);
        pllsty(1);
        if (i == 2) {
            PLFLT px = x + sample / 2, py = yrow;
            plstring(1, &px, &py, "●");
        }
        plcol0(C_FG);
        plptex(x + sample + gap, yrow, 1, 0, 0.0, names[i]);
        x += sample + gap + 0.55 * fs * strlen(names[i]) + sep;
    }
    free(lt);
    free(lv);
    return fig_end(path, err, errlen);
}

// One histogram panel: counts of values in bins [edge[i], edge[i+1]).
static void hist_panel(double vx0, double vx1, const double *edges, const long *counts, int nb, const char *title,
                       const char *xlabel, const char *note) {
    long cmax = 1;
    for (int i = 0; i < nb; i++)
        if (counts[i] > cmax) cmax = counts[i];
    const double ylo = log10(0.6), yhi = ceil(log10((double)cmax) + 0.15);
    plvpor(vx0, vx1, 0.16, 0.80);
    axes_log_y(edges[0], edges[nb], ylo, yhi);
    for (int i = 0; i < nb; i++) {
        if (counts[i] <= 0) continue;
        double w = edges[i + 1] - edges[i], g = 0.08 * w;
        PLFLT bx[4] = {edges[i] + g, edges[i] + g, edges[i + 1] - g, edges[i + 1] - g};
        PLFLT by[4] = {ylo, log10((double)counts[i]), log10((double)counts[i]), ylo};
        plcol0(C_BAR);
        plfill(4, bx, by);
    }
    plcol0(C_FG);
    plwidth(1);
    text_px(14);
    plbox("bcnst", 0, 0, "bcnstlv", 0, 0);
    text_px(16);
    plmtex("t", 1.0, 0.5, 0.5, title);
    text_px(15);
    plmtex("b", 2.9, 0.5, 0.5, xlabel);
    plmtex("l", 3.9, 0.5, 0.5, "samples (log scale)");
    plcol0(C_MUTED);
    text_px(14);
    plmtex("t", -1.6, 0.97, 1.0, note);
}

int report_plot_errors(const char *path, const int32_t *xy_true, const int32_t *xy_pred, int n, const char *what,
                       char *err, size_t errlen) {
    // |dx|, |dy| are integers: one bin per value, centred on it. Euclidean: width-1 bins.
    int dmax = 0;
    double emax = 0;
    for (int i = 0; i < n; i++) {
        int dx = abs(xy_pred[(size_t)2 * i] - xy_true[(size_t)2 * i]),
            dy = abs(xy_pred[(size_t)2 * i + 1] - xy_true[(size_t)2 * i + 1]);
        if (dx > dmax) dmax = dx;
        if (dy > dmax) dmax = dy;
        double e = sqrt((double)dx * dx + (double)dy * dy);
        if (e > emax) emax = e;
    }
    int nb_d = dmax + 1 < 5 ? 5 : dmax + 1, nb_e = (int)floor(emax) + 1;
    if (nb_e < 5) nb_e = 5;
    double *ed = malloc(sizeof(double) * (nb_d + 1)), *ee = malloc(sizeof(double) * (nb_e + 1));
    long *cx = calloc(nb_d, sizeof(long)), *cy = calloc(nb_d, sizeof(long)), *ce = calloc(nb_e, sizeof(long));
    if (!ed || !ee || !cx || !cy || !ce) {
        free(ed), free(ee), free(cx), free(cy), free(ce);
        px_errf(err, errlen, "%s: %s", path, "out of memory");
        return -1;
    }
    for (int i = 0; i <= nb_d; i++) ed[i] = i - 0.5;
    for (int i = 0; i <= nb_e; i++) ee[i] = i;
    long exact_x = 0, exact_y = 0, exact = 0;
    for (int i = 0; i < n; i++) {
        int dx = abs(xy_pred[(size_t)2 * i] - xy_true[(size_t)2 * i]),
            dy = abs(xy_pred[(size_t)2 * i + 1] - xy_true[(size_t)2 * i + 1]);
        cx[dx]++, cy[dy]++;
        int eb = (int)floor(sqrt((double)dx * dx + (double)dy * dy));
        ce[eb < nb_e ? eb : nb_e - 1]++;
        exact_x += dx == 0, exact_y += dy == 0, exact += dx == 0 && dy == 0;
    }
    char nx[64], ny[64], ne[64], title[160];
    snprintf(nx, sizeof nx, "%.1f%% exact", n ? 100.0 * exact_x / n : 0.0);
    snprintf(ny, sizeof ny, "%.1f%% exact", n ? 100.0 * exact_y / n : 0.0);
    snprintf(ne, sizeof ne, "%.1f%% exact", n ? 100.0 * exact / n : 0.0);

    fig_begin(path, 1200, 420);
    plcol0(C_FG);
    snprintf(title, sizeof title, "Localisation errors over %d %s", n, what);
    plvpor(0, 1, 0, 1);
    plwind(0, 1, 0, 1);
    text_px(19);
    plptex(0.5, 0.93, 1, 0, 0.5, title);
    hist_panel(0.07, 0.33, ed, cx, nb_d, "|x error|", "pixels", nx);
    hist_panel(0.40, 0.66, ed, cy, nb_d, "|y error|", "pixels", ny);
    hist_panel(0.73, 0.985, ee, ce, nb_e, "Euclidean error", "pixels (bins [k, k+1))", ne);
    free(ed), free(ee), free(cx), free(cy), free(ce);
    return fig_end(path, err, errlen);
}

// Colour map 1 = gray ramp or viridis, for plimage.
static void cmap1_set(int use_viridis) {
    PLINT r[256], g[256], b[256];
    for (int i = 0; i < 256; i++) {
        r[i] = use_viridis ? viridis[i][0] : i;
        g[i] = use_viridis ? viridis[i][1] : i;
        b[i] = use_viridis ? viridis[i][2] : i;
    }
    plscmap1n(256);
    plscmap1(r, g, b, 256);
}

// A (H, W) image in a viewport; row 0 at the top, pixel (x, y) covers
// [x, x+1] x [H-1-y, H-y] in world coordinates.
static void image_panel(const float *img, int H, int W, double zmin, double zmax, PLFLT **cols) {
    for (int x = 0; x < W; x++)
        for (int y = 0; y < H; y++) cols[x][H - 1 - y] = img[(size_t)y * W + x];
    plwind(0, W, 0, H);
    plimage((PLFLT_MATRIX)cols, W, H, 0, W, 0, H, zmin, zmax, 0, W, 0, H);
    plcol0(C_MUTED);
    plwidth(1);
    plbox("bc", 0, 0, "bc", 0, 0);
}

static void mark(int H, int x, int y, int color, int circle) {
    const double cx = x + 0.5, cy = H - 1 - y + 0.5;
    plcol0(color);
    plwidth(2.0);
    if (circle) {
        PLFLT px[33], py[33];
        for (int i = 0; i <= 32; i++) {
            px[i] = cx + 2.6 * cos(2 * M_PI * i / 32);
            py[i] = cy + 2.6 * sin(2 * M_PI * i / 32);
        }
        plline(33, px, py);
    } else {
        PLFLT ax[2] = {cx - 2.6, cx + 2.6}, ay[2] = {cy, cy};
        PLFLT bx[2] = {cx, cx}, by[2] = {cy - 2.6, cy + 2.6};
        plline(2, ax, ay);
        plline(2, bx, by);
    }
}

int report_plot_samples(const char *path, const report_samples *s, const report_row *rows, int nrows, char *err,
                        size_t errlen) {
    const int H = s->H, W = s->W;
    // Pixel layout: each panel is 4 px per image pixel for 50x50 (at least 120 px).
    int panel = 4 * (W > H ? W : H);
    if (panel < 120) panel = 120;
    if (panel > 240) panel = 240;
    const int gap = 24, left = 16, head = 64, label = 30, rowgap = 14, foot = 8;
    const int pw = left + 3 * panel + 2 * gap + left;
    const int ph = head + nrows * (label + panel + rowgap) + foot;

    PLFLT **cols = malloc(sizeof(PLFLT *) * W);
    PLFLT *buf = malloc(sizeof(PLFLT) * (size_t)W * H);
    if (!cols || !buf) {
        free(cols), free(buf);
        px_errf(err, errlen, "%s: %s", path, "out of memory");
        return -1;
    }
    for (int x = 0; x < W; x++) cols[x] = buf + (size_t)x * H;

    fig_begin(path, pw, ph);
    // Page coordinates in pixels, y up: helpers convert the layout above.
#define VX(px) ((double)(px) / pw)
#define VY(py) (1.0 - (double)(py) / ph)
    plvpor(0, 1, 0, 1);
    plwind(0, pw, 0, ph);
    plcol0(C_FG);
    text_px(16);
    const char *heads[3] = {"input (contrast stretched)", "true heatmap", "predicted heatmap"};
    for (int c = 0; c < 3; c++) plptex(left + c * (panel + gap) + panel / 2.0, ph - head + 14, 1, 0, 0.5, heads[c]);
    text_px(13);
    plcol0(C_MUTED);
    plptex(pw / 2.0, ph - 18, 1, 0, 0.5,
           "red +: true position    cyan ○: predicted position    heatmaps: viridis, 0 to 1");

    for (int r = 0; r < nrows; r++) {
        const int i = rows[r].index;
        const int top = head + r * (label + panel + rowgap);
        plvpor(0, 1, 0, 1);
        plwind(0, pw, 0, ph);
        text_px(13);
        plcol0(C_FG);
        plptex(left, ph - top - label + 12, 1, 0, 0.0, rows[r].label);

        const size_t off = (size_t)i * H * W;
        const int xt = s->coords_true[(size_t)2 * i], yt = s->coords_true[(size_t)2 * i + 1];
        const int xp = s->coords_pred[(size_t)2 * i], yp = s->coords_pred[(size_t)2 * i + 1];
        for (int c = 0; c < 3; c++) {
            const float *img = c == 0 ? s->images + off : c == 1 ? s->heatmaps_true + off : s->heatmaps_pred + off;
            double zmin = 0, zmax = 1;
            if (c == 0) {
                zmin = INFINITY, zmax = -INFINITY;
                for (int k = 0; k < H * W; k++) {
                    if (img[k] < zmin) zmin = img[k];
                    if (img[k] > zmax) zmax = img[k];
                }
                if (!(zmax > zmin)) zmax = zmin + 1;
            }
            const int x0 = left + c * (panel + gap), y0 = top + label;
            plvpor(VX(x0), VX(x0 + panel), VY(y0 + panel), VY(y0));
            cmap1_set(c != 0);
            image_panel(img, H, W, zmin, zmax, cols);
            if (xt >= 0 && xt < W && yt >= 0 && yt < H) mark(H, xt, yt, C_TRUE, 0);
            if (xp >= 0 && xp < W && yp >= 0 && yp < H) mark(H, xp, yp, C_PRED, 1);
        }
    }
#undef VX
#undef VY
    free(cols);
    free(buf);
    return fig_end(path, err, errlen);
}

// Under -fsanitize=address, LeakSanitizer reports memory that PLplot's driver
// loader (libltdl) and cairo's font stack (fontconfig, pango, glib) keep for the
// life of the process; none of it is ours. This hook (read by LSan at exit; a
// plain unused function otherwise) suppresses exactly those libraries.
// NOLINTNEXTLINE(bugprone-reserved-identifier): the name LSan looks up, not ours to choose
const char *__lsan_default_suppressions(void);
// NOLINTNEXTLINE(bugprone-reserved-identifier)
const char *__lsan_default_suppressions(void) {
    return "leak:libfontconfig.so\nleak:libltdl.so\nleak:libpango\nleak:libcairo.so\n"
           "leak:libglib-2.0.so\nleak:libgobject-2.0.so\nleak:libplplot.so\nleak:libharfbuzz.so\n";
}
