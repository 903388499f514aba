// Datasets from a folder of labelled images (import.h). One pass over the label rows in file
// order, so the first bad row is the one reported: its path, then the file (missing, a
// duplicate of an earlier row, the output), then the image (unreadable, another size than the
// first), then its label (outside the image).
#include "import.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image_io.h"
#include "labels.h"
#include "pixloc.h"

// Files already listed, by (device, inode): the same image under two names is a duplicate too.
typedef struct {
    dev_t dev;
    ino_t ino;
    int row; // index into the label table, -1 for an empty slot
} seen_slot;

typedef struct {
    seen_slot *slot;
    size_t mask;
} seen_set;

static void seen_init(seen_set *s, int n) {
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    s->slot = px_malloc(cap * sizeof *s->slot, "duplicate check");
    for (size_t i = 0; i < cap; i++) s->slot[i].row = -1;
    s->mask = cap - 1;
}

// Returns the row already holding (dev, ino), or records `row` and returns -1.
static int seen_add(seen_set *s, dev_t dev, ino_t ino, int row) {
    uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)ino * 0xC2B2AE3D27D4EB4Full);
    for (size_t i = (size_t)(h ^ (h >> 29)) & s->mask;; i = (i + 1) & s->mask) {
        seen_slot *e = &s->slot[i];
        if (e->row < 0) {
            *e = (seen_slot){dev, ino, row};
            return -1;
        }
        if (e->dev == dev && e->ino == ino) return e->row;
    }
}

typedef struct {
    const label_table *t;
    const char *labels;
    char *err;
    size_t errlen;
    struct stat avoid;
    int have_avoid;
    int first; // the row whose image set the size, -1 before
    int H, W;
} import_state;

// Checks row i's file (exists, listed once, not the output) and reads its image; NULL on error.
static float *read_row(import_state *s, seen_set *seen, int i, const char *path) {
    const label_row *r = &s->t->rows[i];
    struct stat st;
    if (stat(path, &st) != 0) {
        px_errf(s->err, s->errlen, "%s line %d: %s: %s", s->labels, r->line, path,
                errno == ENOENT ? "no such file (file names are relative to the --images folder)" : strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        px_errf(s->err, s->errlen, "%s line %d: %s is not a regular file", s->labels, r->line, path);
        return NULL;
    }
    if (s->have_avoid && st.st_dev == s->avoid.st_dev && st.st_ino == s->avoid.st_ino) {
        px_errf(s->err, s->errlen, "%s line %d: %s is the output file: choose another output", s->labels, r->line,
                path);
        return NULL;
    }
    int prev = seen_add(seen, st.st_dev, st.st_ino, i);
    if (prev >= 0) {
        const label_row *p = &s->t->rows[prev];
        if (!strcmp(p->file, r->file))
            px_errf(s->err, s->errlen, "%s line %d: %s is listed again (first on line %d): each image once", s->labels,
                    r->line, r->file, p->line);
        else
            px_errf(s->err, s->errlen, "%s line %d: %s is the same file as %s on line %d: each image once", s->labels,
                    r->line, r->file, p->file, p->line);
        return NULL;
    }
    char e2[1024];
    int H = 0, W = 0;
    float *img = image_read_gray(path, &H, &W, e2, sizeof e2);
    if (!img) {
        px_errf(s->err, s->errlen, "%s line %d: %s", s->labels, r->line, e2);
        return NULL;
    }
    if (s->first < 0) {
        s->first = i;
        s->H = H;
        s->W = W;
    } else if (H != s->H || W != s->W) {
        const label_row *f = &s->t->rows[s->first];
        px_errf(s->err, s->errlen,
                "%s line %d: %s is %d wide and %d high but %s (line %d) is %d wide and %d high: every "
                "image must have the same size",
                s->labels, r->line, r->file, W, H, f->file, f->line, s->W, s->H);
        free(img);
        return NULL;
    }
    if (r->x < 0 || r->x >= W || r->y < 0 || r->y >= H) {
        px_errf(s->err, s->errlen,
                "%s line %d: label (x=%d, y=%d) is outside %s, %d wide and %d high (x must be 0..%d, "
                "y 0..%d: 0-based column and row)",
                s->labels, r->line, r->x, r->y, r->file, W, H, W - 1, H - 1);
        free(img);
        return NULL;
    }
    return img;
}

static int import_rows(import_state *s, dataset *d, const char *images_dir) {
    const label_table *t = s->t;
    seen_set seen;
    seen_init(&seen, t->n);
    size_t dlen = strlen(images_dir);
    while (dlen > 1 && images_dir[dlen - 1] == '/') dlen--;
    int rc = 0;
    for (int i = 0; i < t->n && rc == 0; i++) {
        const label_row *r = &t->rows[i];
        size_t flen = strlen(r->file);
        char *path = px_malloc(dlen + flen + 2, "image path");
        snprintf(path, dlen + flen + 2, "%.*s/%s", (int)dlen, images_dir, r->file);
        float *img = read_row(s, &seen, i, path);
        free(path);
        if (!img) {
            rc = -1;
            break;
        }
        size_t hw = (size_t)s->H * (size_t)s->W;
        if (i == 0) {
            if ((double)t->n * (double)hw * sizeof(float) > (double)IMPORT_MAX_BYTES) {
                px_errf(s->err, s->errlen, "%s: %d images of %d x %d pixels need %.1f GiB, over the %llu GiB limit",
                        s->labels, t->n, s->W, s->H, (double)t->n * (double)hw * sizeof(float) / (1 << 30),
                        IMPORT_MAX_BYTES >> 30);
                free(img);
                rc = -1;
                break;
            }
            d->images = px_malloc((size_t)t->n * hw * sizeof(float), "imported images");
            d->coords = px_malloc((size_t)t->n * 2 * sizeof(int32_t), "imported coordinates");
        }
        memcpy(d->images + (size_t)i * hw, img, hw * sizeof(float));
        d->coords[2 * (size_t)i] = r->x;
        d->coords[2 * (size_t)i + 1] = r->y;
        free(img);
    }
    free(seen.slot);
    return rc;
}

int dataset_import(dataset *d, const char *images_dir, const char *labels_path, double sigma, const char *avoid,
                   char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    import_state s = {.labels = labels_path, .err = err, .errlen = errlen, .first = -1};
    if (avoid && stat(avoid, &s.avoid) == 0) {
        s.have_avoid = 1;
        struct stat ls;
        if (stat(labels_path, &ls) == 0 && ls.st_dev == s.avoid.st_dev && ls.st_ino == s.avoid.st_ino) {
            px_errf(err, errlen, "%s is the labels file: choose another output", avoid);
            return -1;
        }
    }
    struct stat ds;
    if (stat(images_dir, &ds) != 0) {
        px_errf(err, errlen, "%s: cannot open the images folder: %s", images_dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(ds.st_mode)) {
        px_errf(err, errlen, "%s is not a folder (--images names the folder the labels' file names are in)",
                images_dir);
        return -1;
    }
    label_table t;
    if (labels_read(labels_path, &t, err, errlen) != 0) return -1;
    s.t = &t;
    int rc = import_rows(&s, d, images_dir);
    if (rc == 0) {
        d->N = t.n;
        d->H = s.H;
        d->W = s.W;
        recipe_default(&d->rec); // the generator's fields mean nothing here; size and sigma do
        d->rec.H = s.H;
        d->rec.W = s.W;
        d->rec.sigma = sigma;
        d->seed = 0;
        d->source = DATASET_SOURCE_IMPORT;
    } else {
        dataset_free(d);
    }
    labels_free(&t);
    return rc;
}
