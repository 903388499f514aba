// A batch split across processes (data-parallel training, include/train/dist.h): each process
// holds a contiguous share of the batch's rows, process 0 the first. The net asks the split to
// gather per-sample partial sums (batch norm) and gradients, and reduces them itself in process
// order, so every process computes the same floats whatever order the messages arrive in.
// Without a split (NULL, the default) a net is the whole batch and nothing here runs.
#ifndef PIXLOC_BATCH_SPLIT_H
#define PIXLOC_BATCH_SPLIT_H

typedef struct batch_split batch_split;
struct batch_split {
    int nprocs, rank;
    // This step's whole batch, over all processes (the trainer sets it before each forward): the
    // loss the gradients are of is the mean over global_rows samples.
    int global_rows;
    int max_rows; // the largest global_rows (the global batch): what a gather may return
    // Every process's `rows` rows of `width` floats, concatenated in process order into `out`
    // (every process gets the whole); returns the total row count. A collective: every
    // process calls it with the same width at the same point.
    int (*gather)(const batch_split *s, const float *in, int rows, int width, float *out);
    void *user;
};

#endif
