// Compiling inference kernels in a child process, so that `pixloc predict` and `pixloc eval`
// stay small on a first run.
//
// Why: on PoCL, the first launch of each kernel compiles it with LLVM, and LLVM's working
// memory (about 150 MB for the seed network: its context and the parsed kernel library) stays
// in the process until it exits; malloc_trim gives back only ~15 MB of it. With PoCL's and
// pixloc's caches warm no compile runs and predict on 5000 images peaks at ~240 MB; cold it
// peaked at ~400 MB. So on a cold cache the command first runs this binary again as a child
// (`pixloc __prewarm`, same device flags) that builds the same inference network at a small
// batch, runs one batch of blank images through it (every kernel launched once: the programs
// land in pixloc's cache, the compiled kernels in PoCL's) and exits; the parent then loads
// everything from the caches. The kernels' build options and local sizes do not depend on the
// batch, so a batch of min(batch, PREWARM_BATCH) images warms the caches for any batch.
//
// When: only on PoCL's CPU device with both caches on (pixloc's cache directory set, and
// POCL_KERNEL_CACHE not 0), unless PIXLOC_PREWARM=0, and only once per (binary, device and
// driver, PoCL cache location, tuning file, network, image size, --tta): a marker file
// "prewarm-<hash>" in pixloc's cache directory records that a child finished. Where the child
// cannot run or fails, the command compiles in-process as before (results are the same either
// way: the same programs are built from the same sources with the same options).
#ifndef PIXLOC_PREWARM_H
#define PIXLOC_PREWARM_H

#include "net_config.h"
#include "ocl.h"
#include "trainer.h"

#define PREWARM_BATCH 8

// The lines predict's and eval's --help add about it.
#define PREWARM_HELP                                                                                                   \
    "On PoCL with an empty kernel cache, a child process compiles the kernels first, so that the\n"                    \
    "compiler's memory (~150 MB) stays out of this one; PIXLOC_PREWARM=0 compiles in-process.\n\n"

// Called by predict and eval after ocl_init and before they create the inference network for
// H x W images at `batch` from checkpoint `ckpt` (its architecture cfg). Runs the child if the
// conditions above hold; prints what it did only with PIXLOC_CACHE_DEBUG.
void prewarm_inference(const ocl_ctx *c, const ocl_options *o, const char *ckpt, const net_config *cfg, int H, int W,
                       int batch, int tta);

// The child: `pixloc __prewarm [device flags] CKPT HxW N tta|plain`.
// Not listed in `pixloc --help`: only prewarm_inference runs it.
int cmd_prewarm(int argc, char **argv);

// Training. PoCL compiles in one thread per process (its LLVM context is global and locked),
// so on a cold cache most of the first step's wait is one core compiling while the others
// idle: some 20 programs, then some 25 kernels at their first launches. prewarm_training
// starts a second process (`pixloc __prewarm-train`, same device flags) that builds the same
// training network and compiles the same programs and kernels in the opposite order (its
// programs last first, then the step's kernels last first: ocl_record_runs), while this one
// goes on without waiting; each process finds what the other compiled in PoCL's cache, so the
// two meet in the middle. The child never writes pixloc's program cache (this process does,
// as before). When: as for inference, and only with 2 or more compute units and one training
// process (not under mpirun); once per (binary, device, PoCL cache location, tuning file,
// network and loss, image size, batch): the child leaves a marker when it finishes. The results
// are the same either way (the same programs from the same sources and options).
void prewarm_training(const ocl_ctx *c, const ocl_options *o, const train_settings *s, int H, int W, int batch);
// Collects the child if it has finished (a running one is left to finish on its own).
void prewarm_training_reap(void);
// The child: `pixloc __prewarm-train [device flags] SETTINGS-JSON HxW BATCH MARKER`.
int cmd_prewarm_train(int argc, char **argv);

#endif
