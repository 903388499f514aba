// A module's device buffers as data: the one list a module's create function
// allocates from and its size function returns, so a memory plan (net_create's)
// and the allocation cannot disagree.
#ifndef PIXLOC_NN_BUFFERS_H
#define PIXLOC_NN_BUFFERS_H

#include <limits.h>
#include <stddef.h>

#define NN_MAX_BUFFERS 320

typedef struct {
    const char *name;
    size_t bytes;
    size_t limit; // 0, or the most bytes the module accepts (buffers its kernels index with int)
} nn_buffer;

typedef struct {
    int n;
    nn_buffer b[NN_MAX_BUFFERS];
} nn_buffers;

// Bytes of a buffer of `floats` floats that kernels index with int.
#define NN_INT_INDEXED_LIMIT ((size_t)INT_MAX * sizeof(float))

static inline void nn_buffers_add(nn_buffers *l, const char *name, size_t bytes, size_t limit) {
    if (l->n < NN_MAX_BUFFERS) l->b[l->n++] = (nn_buffer){name, bytes, limit};
}
static inline size_t nn_buffers_total(const nn_buffers *l) {
    size_t t = 0;
    for (int i = 0; i < l->n; i++) t += l->b[i].bytes;
    return t;
}
static inline size_t nn_buffers_largest(const nn_buffers *l) {
    size_t m = 0;
    for (int i = 0; i < l->n; i++)
        if (l->b[i].bytes > m) m = l->b[i].bytes;
    return m;
}

#endif
