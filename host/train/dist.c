// Data-parallel training over MPI (see include/train/dist.h). Compiled only with PIXLOC_MPI.
#include "dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>

#include "pixloc.h"

struct dist {
    MPI_Comm comm;
    int rank, size, local_rank;
    int *rows, *counts, *displs; // per process: rows, floats and float offsets of the last gather
    batch_split split;
};

// Any MPI failure (typically: another process has gone) ends this one with a message rather than
// a hang or MPI's own abort text alone.
static void on_mpi_error(MPI_Comm *comm, int *code, ...) {
    (void)comm;
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(*code, msg, &len);
    px_die(PX_EXIT_FAIL,
           "MPI failed (%s): another training process has probably ended; the run directory keeps "
           "the last checkpoint written, resume it with the same number of processes",
           msg);
}

// Every process's rows, concatenated in rank order (see batch_split.h).
static int gather(const batch_split *s, const float *in, int rows, int width, float *out) {
    dist *d = s->user;
    MPI_Allgather(&rows, 1, MPI_INT, d->rows, 1, MPI_INT, d->comm);
    long long total = 0;
    for (int r = 0; r < d->size; r++) {
        long long f = (long long)d->rows[r] * width, at = total * width;
        if (f > INT_MAX || at > INT_MAX)
            px_die(PX_EXIT_FAIL, "MPI gather: %lld floats from process %d exceed what one message holds", f, r);
        d->counts[r] = (int)f;
        d->displs[r] = (int)at;
        total += d->rows[r];
    }
    MPI_Allgatherv(in, rows * width, MPI_FLOAT, out, d->counts, d->displs, MPI_FLOAT, d->comm);
    return (int)total;
}

dist *dist_start(void) {
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        px_die(PX_EXIT_FAIL, "MPI_Init failed: run pixloc train under mpirun (Open MPI), or without it");
    dist *d = px_calloc(1, sizeof *d, "MPI state");
    d->comm = MPI_COMM_WORLD;
    MPI_Errhandler eh;
    MPI_Comm_create_errhandler(on_mpi_error, &eh);
    MPI_Comm_set_errhandler(d->comm, eh);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    MPI_Comm local;
    MPI_Comm_split_type(d->comm, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &d->local_rank);
    MPI_Comm_free(&local);
    d->rows = px_calloc((size_t)d->size, sizeof(int), "MPI counts");
    d->counts = px_calloc((size_t)d->size, sizeof(int), "MPI counts");
    d->displs = px_calloc((size_t)d->size, sizeof(int), "MPI offsets");
    d->split = (batch_split){.nprocs = d->size, .rank = d->rank, .gather = gather, .user = d};
    return d;
}

void dist_end(dist *d) {
    if (!d) return;
    MPI_Finalize();
    free(d->rows);
    free(d->counts);
    free(d->displs);
    free(d);
}

int dist_rank(const dist *d) { return d ? d->rank : 0; }
int dist_size(const dist *d) { return d ? d->size : 1; }
int dist_local_rank(const dist *d) { return d ? d->local_rank : 0; }
batch_split *dist_split(dist *d) { return d && d->size > 1 ? &d->split : NULL; }
