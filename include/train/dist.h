// Data-parallel training over MPI (built with -DPIXLOC_MPI=ON; README "Training on several
// devices"): `mpirun -np K pixloc train ...` runs K processes, each on its own device with its
// share of every batch; the trainer combines them through the batch_split this module provides
// (include/nn/batch_split.h): every process's rows gathered with MPI_Allgatherv, then reduced by
// each process in process order, so a K-process run is the same floats on every process and in
// every run. Without MPI in the build, a single process: the functions below are stubs.
#ifndef PIXLOC_DIST_H
#define PIXLOC_DIST_H

#include "batch_split.h"

typedef struct dist dist; // NULL: one process, no MPI

#if PIXLOC_MPI
// MPI_Init and the process's place (rank, size, rank among the processes of its machine). Call
// only when an MPI launcher started the process. MPI errors (a peer gone) exit 1 with a message.
dist *dist_start(void);
// MPI_Finalize (a collective: call it once, on every process, after the last gather).
void dist_end(dist *d);
int dist_rank(const dist *d);
int dist_size(const dist *d);
int dist_local_rank(const dist *d);
// The split for trainer_options.split; NULL for one process.
batch_split *dist_split(dist *d);
#define PIXLOC_HAVE_MPI 1
#else
static inline dist *dist_start(void) { return 0; }
static inline void dist_end(dist *d) { (void)d; }
static inline int dist_rank(const dist *d) { return (void)d, 0; }
static inline int dist_size(const dist *d) { return (void)d, 1; }
static inline int dist_local_rank(const dist *d) { return (void)d, 0; }
static inline batch_split *dist_split(dist *d) { return (void)d, (batch_split *)0; }
#define PIXLOC_HAVE_MPI 0
#endif

#endif
