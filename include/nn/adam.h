// Keras Adam over one flat parameter buffer. Kernel: cl/adam.cl.
#ifndef PIXLOC_ADAM_H
#define PIXLOC_ADAM_H

#include <stddef.h>
#include <stdint.h>
#include "ocl.h"

typedef struct adam adam;

adam *adam_create(ocl_ctx *c);
void adam_free(adam *a);
// Appends the program adam_create builds on target t.
void adam_programs(const ocl_target *t, ocl_program_list *out);
// One update of n parameters w with gradients g and moments m, v (all float
// buffers of n floats); step is the number of updates done before (t = step + 1).
// alpha = lr*sqrt(1-beta2^t)/(1-beta1^t) is computed in double, passed as float.
void adam_update(adam *a, size_t n, cl_mem w, cl_mem g, cl_mem m, cl_mem v, int64_t step, double lr, double beta1,
                 double beta2, double eps);

#endif
