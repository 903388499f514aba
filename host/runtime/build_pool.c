// Background program builds and deferred cache stores; see include/runtime/build_pool.h.
#include "build_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pixloc.h"

enum { JOB_PREFETCH, JOB_STORE };
enum { JOB_PENDING, JOB_RUNNING, JOB_DONE };

typedef struct bp_job {
    struct bp_job *next;
    int kind, state;
    char *file, *options, *src;
    kcache_key key;
} bp_job;

typedef struct {
    struct build_pool *bp;
    cl_context ctx;
    pthread_t th;
} bp_helper;

struct build_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; // broadcast whenever a job is queued or changes state, or on finish
    bp_job *head, *tail;
    int storing; // 1 once finish began: helpers may take store jobs
    int quit;    // 1: helpers leave when no job is left for them
    cl_device_id device;
    char cache_dir[1024];
    int nhelpers;
    bp_helper helpers[BUILD_POOL_MAX];
};

static cl_program build_in(cl_context ctx, cl_device_id dev, const char *src, const char *options) {
    cl_int err;
    size_t len = strlen(src);
    cl_program p = clCreateProgramWithSource(ctx, 1, &src, &len, &err);
    if (err != CL_SUCCESS) return NULL;
    if (clBuildProgram(p, 1, &dev, options, NULL, NULL) != CL_SUCCESS) { // the main thread reports failures
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

static void run_job(bp_helper *h, const bp_job *j) {
    struct build_pool *bp = h->bp;
    if (j->kind == JOB_PREFETCH && bp->cache_dir[0]) {
        char path[1200];
        kcache_path(bp->cache_dir, &j->key, path, sizeof path);
        if (access(path, R_OK) == 0) return; // the main thread loads this one from our cache
    }
    cl_program p = build_in(h->ctx, bp->device, j->src, j->options);
    if (!p) return;
    if (j->kind == JOB_STORE) kcache_store(bp->cache_dir, &j->key, p);
    clReleaseProgram(p);
}

// The next job a helper may take (prefetches first, stores once finishing), or NULL.
static bp_job *next_job(struct build_pool *bp) {
    for (bp_job *j = bp->head; j; j = j->next)
        if (j->state == JOB_PENDING && j->kind == JOB_PREFETCH) return j;
    if (!bp->storing) return NULL;
    for (bp_job *j = bp->head; j; j = j->next)
        if (j->state == JOB_PENDING) return j;
    return NULL;
}

static void *helper_main(void *arg) {
    bp_helper *h = arg;
    struct build_pool *bp = h->bp;
    pthread_mutex_lock(&bp->mu);
    for (;;) {
        bp_job *j = next_job(bp);
        if (j) {
            j->state = JOB_RUNNING;
            pthread_mutex_unlock(&bp->mu);
            run_job(h, j);
            pthread_mutex_lock(&bp->mu);
            j->state = JOB_DONE;
            pthread_cond_broadcast(&bp->cv);
            continue;
        }
        if (bp->quit) break;
        pthread_cond_wait(&bp->cv, &bp->mu);
    }
    pthread_mutex_unlock(&bp->mu);
    return NULL;
}

struct build_pool *build_pool_start(cl_platform_id platform, cl_device_id device, int threads, const char *cache_dir) {
    if (threads < 1) return NULL;
    if (threads > BUILD_POOL_MAX) threads = BUILD_POOL_MAX;
    struct build_pool *bp = px_calloc(1, sizeof *bp, "build pool");
    pthread_mutex_init(&bp->mu, NULL);
    pthread_cond_init(&bp->cv, NULL);
    bp->device = device;
    snprintf(bp->cache_dir, sizeof bp->cache_dir, "%s", cache_dir);
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    for (int i = 0; i < threads; i++) {
        bp_helper *h = &bp->helpers[bp->nhelpers];
        cl_int err;
        h->bp = bp;
        h->ctx = clCreateContext(props, 1, &device, NULL, NULL, &err);
        if (err != CL_SUCCESS || !h->ctx) break;
        if (pthread_create(&h->th, NULL, helper_main, h) != 0) {
            clReleaseContext(h->ctx);
            break;
        }
        bp->nhelpers++;
    }
    if (bp->nhelpers == 0) {
        pthread_cond_destroy(&bp->cv);
        pthread_mutex_destroy(&bp->mu);
        free(bp);
        return NULL;
    }
    return bp;
}

int build_pool_helpers(const struct build_pool *bp) { return bp->nhelpers; }

static bp_job *find_named(struct build_pool *bp, int kind, const char *file, const char *options) {
    for (bp_job *j = bp->head; j; j = j->next)
        if (j->kind == kind && strcmp(j->file, file) == 0 && strcmp(j->options, options) == 0) return j;
    return NULL;
}

static bp_job *find_key(struct build_pool *bp, int kind, const kcache_key *key) {
    for (bp_job *j = bp->head; j; j = j->next)
        if (j->kind == kind && memcmp(&j->key, key, sizeof *key) == 0) return j;
    return NULL;
}

static void queue(struct build_pool *bp, int kind, const char *file, const char *options, const char *src,
                  const kcache_key *key) {
    bp_job *j = px_calloc(1, sizeof *j, "build job");
    j->kind = kind;
    j->state = JOB_PENDING;
    j->file = strdup(file);
    j->options = strdup(options);
    j->src = strdup(src);
    j->key = *key;
    if (!j->file || !j->options || !j->src) px_die(PX_EXIT_FAIL, "out of memory queueing a program build");
    if (bp->tail)
        bp->tail->next = j;
    else
        bp->head = j;
    bp->tail = j;
    pthread_cond_broadcast(&bp->cv);
}

void build_pool_prefetch(struct build_pool *bp, const char *file, const char *options, const char *src,
                         const kcache_key *key) {
    pthread_mutex_lock(&bp->mu);
    if (!bp->quit && !find_named(bp, JOB_PREFETCH, file, options)) queue(bp, JOB_PREFETCH, file, options, src, key);
    pthread_mutex_unlock(&bp->mu);
}

int build_pool_claim(struct build_pool *bp, const char *file, const char *options) {
    int waited = 0;
    pthread_mutex_lock(&bp->mu);
    bp_job *j = find_named(bp, JOB_PREFETCH, file, options);
    if (j && j->state == JOB_PENDING) j->state = JOB_DONE; // the caller builds it now
    while (j && j->state == JOB_RUNNING) {
        waited = 1;
        pthread_cond_wait(&bp->cv, &bp->mu);
    }
    pthread_mutex_unlock(&bp->mu);
    return waited;
}

void build_pool_store_later(struct build_pool *bp, const char *src, const char *options, const kcache_key *key) {
    pthread_mutex_lock(&bp->mu);
    if (bp->cache_dir[0] && !find_key(bp, JOB_STORE, key)) queue(bp, JOB_STORE, "", options, src, key);
    pthread_mutex_unlock(&bp->mu);
}

int build_pool_pending_stores(struct build_pool *bp) {
    int n = 0;
    pthread_mutex_lock(&bp->mu);
    for (bp_job *j = bp->head; j; j = j->next) n += j->kind == JOB_STORE && j->state != JOB_DONE;
    pthread_mutex_unlock(&bp->mu);
    return n;
}

void build_pool_finish(struct build_pool *bp) {
    if (!bp) return;
    pthread_mutex_lock(&bp->mu);
    for (bp_job *j = bp->head; j; j = j->next)
        if (j->kind == JOB_PREFETCH && j->state == JOB_PENDING) j->state = JOB_DONE;
    bp->storing = 1;
    bp->quit = 1;
    pthread_cond_broadcast(&bp->cv);
    pthread_mutex_unlock(&bp->mu);
    for (int i = 0; i < bp->nhelpers; i++) {
        pthread_join(bp->helpers[i].th, NULL);
        clReleaseContext(bp->helpers[i].ctx);
    }
    while (bp->head) {
        bp_job *j = bp->head;
        bp->head = j->next;
        free(j->file);
        free(j->options);
        free(j->src);
        free(j);
    }
    pthread_cond_destroy(&bp->cv);
    pthread_mutex_destroy(&bp->mu);
    free(bp);
}
