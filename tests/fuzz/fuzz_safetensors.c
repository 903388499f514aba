// Fuzz target: the safetensors reader (st_open_mem) with every accessor, then the
// two interpretations of a file pixloc makes: a dataset (dataset_load) and a
// checkpoint's settings (train_settings_from_json on the "settings" metadata,
// checkpoint_read_settings). Checkpoint tensors need a device (net), so they are
// only checked through st_expect here.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE // memfd_create
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checkpoint.h"
#include "dataset.h"
#include "fuzz_targets.h"
#include "safetensors.h"

// dataset_load and checkpoint_read_settings take a path: the input goes into one
// in-memory file (memfd) reopened through /proc/self/fd.
static const char *mem_path(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_safetensors", 0);
        if (fd < 0) return NULL;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0) return NULL;
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
        if (w <= 0) return NULL;
        done += (size_t)w;
    }
    return path;
}

int fuzz_safetensors(const uint8_t *data, size_t size) {
    char err[512];
    fuzz_accepted = 0;
    err[0] = 0;
    st_file *f = st_open_mem(data, size, "fuzz", err, sizeof err);
    if (!f) {
        FUZZ_CHECK(strncmp(err, "fuzz: ", 6) == 0 && strlen(err) > 6); // a message naming the file
        return 0;
    }
    fuzz_accepted = 1;
    unsigned sum = 0;
    for (int i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        FUZZ_CHECK(t && t->name && st_find(f, t->name) != NULL);
        FUZZ_CHECK(t->ndim >= 0 && t->ndim <= ST_MAX_DIMS);
        size_t n = st_dtype_size(t->dtype);
        for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
        FUZZ_CHECK(n == t->nbytes);
        FUZZ_CHECK(t->nbytes == 0 || ((uintptr_t)t->data % st_dtype_size(t->dtype)) == 0);
        const unsigned char *b = t->data;
        for (size_t k = 0; k < t->nbytes; k++) sum += b[k]; // every byte must be readable
        int64_t any[ST_MAX_DIMS];
        for (int d = 0; d < ST_MAX_DIMS; d++) any[d] = -1;
        FUZZ_CHECK(st_expect(f, t->name, t->dtype, t->ndim, any, err, sizeof err) == t);
        (void)st_dtype_name(t->dtype);
    }
    for (int i = 0; i < st_meta_count(f); i++) {
        const char *k, *v;
        st_meta_at(f, i, &k, &v);
        FUZZ_CHECK(k && v && st_meta(f, k) != NULL);
        sum += (unsigned)strlen(k) + (unsigned)strlen(v);
    }
    int64_t img[3] = {-1, -1, -1};
    (void)st_expect(f, "images", ST_F32, 3, img, err, sizeof err);
    const char *js = st_meta(f, "settings");
    if (js) {
        train_settings s;
        (void)train_settings_from_json(&s, js, err, sizeof err);
    }
    st_close(f);
    if (sum == 0xdeadbeefu) fprintf(stderr, "%u\n", sum); // keeps the reads

    const char *path = mem_path(data, size);
    if (path) {
        dataset d;
        if (dataset_load(&d, path, err, sizeof err) == 0) {
            FUZZ_CHECK(d.N >= 1 && d.H >= 1 && d.W >= 1 && d.images && d.coords);
            for (int i = 0; i < d.N; i++)
                FUZZ_CHECK(d.coords[2 * i] >= 0 && d.coords[2 * i] < d.W && d.coords[2 * i + 1] >= 0 &&
                           d.coords[2 * i + 1] < d.H);
            dataset_free(&d);
        }
        train_settings s;
        (void)checkpoint_read_settings(path, &s, err, sizeof err);
    }
    return 0;
}
