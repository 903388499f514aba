// 3x3 convolution, stride 1, 'same' zero padding, on the padded-plane layout of
// layout.h: forward with bias and optional fused ReLU, gradient with respect to
// the input, gradient with respect to weights and bias.
//
// Keras semantics (cross-correlation):
//   y[n,co,i,j] = b[co] + sum_{ky,kx,ci} w[ky,kx,ci,co] * x[n,ci,i+ky-1,j+kx-1]
// Weights use Keras's kernel layout (3, 3, Cin, Cout):
//   w[((ky*3 + kx)*Cin + ci)*Cout + co]
// Weights, biases and their gradients live at float offsets inside larger
// buffers (all parameters of the net are one buffer), hence the (mem, off) pairs.
#ifndef PIXLOC_CONV_H
#define PIXLOC_CONV_H

#include "nn_buffers.h"
#include "ocl.h"

typedef struct conv3x3 conv3x3;

// Programs and scratch for one layer shape; max_N is the largest batch used.
conv3x3 *conv3x3_create(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W);
void conv3x3_free(conv3x3 *k);

// x: (N, Cin) padded planes -> y: (N, Cout) padded planes (ring written as zeros).
// A forward-only layer (conv3x3_create_forward) reads the weights at (w, w_off) on its first
// call and keeps them packed (Winograd: transformed) until conv3x3_weights_changed, or a call
// with another (w, w_off): the caller reports every change of the weights in between.
void conv3x3_forward(conv3x3 *k, int N, cl_mem x, cl_mem w, size_t w_off, cl_mem b, size_t b_off, cl_mem y, int relu);
// The weights of a forward-only layer changed: the next conv3x3_forward packs them again.
// (No effect on a training layer, which packs on every call.)
void conv3x3_weights_changed(conv3x3 *k);
// dy: (N, Cout) padded planes (ring zero) -> dx: (N, Cin) padded planes (overwritten).
void conv3x3_backward_input(conv3x3 *k, int N, cl_mem dy, cl_mem w, size_t w_off, cl_mem dx);
// dw (3,3,Cin,Cout) and db (Cout) are overwritten (not accumulated), reduced over
// the batch and all pixels in a fixed order (bit-identical run to run).
void conv3x3_backward_weights(conv3x3 *k, int N, cl_mem x, cl_mem dy, cl_mem dw, size_t dw_off, cl_mem db,
                              size_t db_off);

// Tuning parameters: which kernel style and its tile sizes. conv3x3_create uses
// conv3x3_default_params; a tuner or a test may pass its own to conv3x3_create_with.
enum {
    CONV_VARIANT_CPU = 0,
    CONV_VARIANT_GPU = 1,
    CONV_VARIANT_WINOGRAD = 2,
    CONV_VARIANT_GPU_TILED = 3,
    CONV_VARIANT_COUNT
};
typedef struct {
    int variant;    // CONV_VARIANT_CPU: register tiles in float16 (PoCL, CPUs);
                    // CONV_VARIANT_GPU: one work-item per output value;
                    // CONV_VARIANT_WINOGRAD: Winograd F(2x2,3x3) or F(4x4,3x3) forward and input gradient
                    // (host/conv_winograd.c), and the weight gradient with wino_dw;
                    // CONV_VARIANT_GPU_TILED: local-memory tiles, work-groups of wg x wg_co
    int tile_co;    // CPU, GPU tiled: output channels per work-item (forward and input gradient)
    int wg;         // work-group size along positions (forward and input gradient)
    int dw_tk;      // CPU, GPU tiled weight gradient: rows (tap*Cin + ci) per work-item
    int dw_tc;      // CPU, GPU tiled weight gradient: output channels per work-item
    int dw_seg;     // weight gradient: positions per partial sum (multiple of 16)
    int tile_q;     // GPU tiled: positions per work-item (forward and input gradient)
    int wg_co;      // GPU tiled: work-group size along output channels
    int dw_wg;      // GPU tiled weight gradient: work-groups of dw_wg x dw_wg
    int wino_tn;    // Winograd: GEMM tiles per work-item (0: its default)
    int wino_nb;    // Winograd: images per chunk (0: its default)
    int wino_dw;    // Winograd: 1 = the weight gradient by Winograd too (dw_tk x dw_tc input x output
                    // channels per GEMM work-item), 0 = by the CPU variant's kernels
    int wino_m;     // Winograd: output tile side of the forward, F(m x m, 3x3): 2 or 4 (fewer
                    // multiplications, larger rounding errors); 0: 2, except in conv3x3_forward_params
    int wino_m_dx;  // Winograd: the same for the input gradient (0: 2)
    int wino_m_dw;  // Winograd with wino_dw: the same for the weight gradient (0: 2)
    int wino_nb_dw; // Winograd with wino_dw: images per weight-gradient chunk (0: wino_nb's; with
                    // wino_m_dw = 4 as many as fit 10 MiB of scratch: host/nn/conv_winograd.c)
    int bn_in;      // not a tuning choice: set by a network (conv3x3_bn_in_ok) on a training layer
                    // whose input is a batch norm's input. The forward and the weight gradient then
                    // read x * scale + shift (0 on the ring) for x, with the batch norm's per-channel
                    // scale and shift (conv3x3_set_input_bn), so that its output is never written.
    int bn_stats;   // not a tuning choice: set by a network (conv3x3_bn_stats_ok) on a training layer
                    // whose output goes to a batch norm: the forward also writes that batch norm's
                    // per-plane sums (conv3x3_set_output_bn), from cache, so it need not read them.
} conv3x3_params;

// 1 if a training layer with these parameters can take bn_in (Winograd with its own weight
// gradient: the input transforms apply the batch norm; no other kernel does).
int conv3x3_bn_in_ok(const conv3x3_params *p);
// 1 if a training layer with these parameters can take bn_stats on target t (Winograd, CPU-shaped:
// its output transform owns whole planes).
int conv3x3_bn_stats_ok(const ocl_target *t, const conv3x3_params *p);
// A bn_stats layer's batch norm: its interior mask, per-plane sum and sum-of-squares buffers and
// 1/(H*W) (batchnorm_output_sums), written at every conv3x3_forward. Required before one.
void conv3x3_set_output_bn(conv3x3 *k, cl_mem mask, cl_mem psum, cl_mem pm2, float inv_hw);
// A bn_in layer's batch norm: its state buffer (cl/batchnorm.cl's st, batchnorm_state) of Cin
// channels, read at every conv3x3_forward and conv3x3_backward_weights. Required before either.
void conv3x3_set_input_bn(conv3x3 *k, cl_mem bn_state);

// Winograd's output tile side m of F(m x m, 3x3) for the forward (wino_m), the input
// gradient (wino_m_dx) and the Winograd weight gradient (wino_m_dw), 2 when 0.
int conv_wino_m(const conv3x3_params *p);
int conv_wino_m_dx(const conv3x3_params *p);
int conv_wino_m_dw(const conv3x3_params *p);

// The parameters a created layer runs with (after any fallback, e.g. gpu_tiled -> gpu).
const conv3x3_params *conv3x3_params_of(const conv3x3 *k);

// "cpu", "gpu", "winograd", "gpu_tiled"; conv3x3_variant_parse returns -1 for an unknown name.
const char *conv3x3_variant_name(int variant);
int conv3x3_variant_parse(const char *name);
// The default table's row for one variant (device-independent tile sizes).
conv3x3_params conv3x3_variant_defaults(int variant);
// The row for one variant on target t: as conv3x3_variant_defaults, except Winograd on a GPU
// profile, which gets GPU-shaped parameters (conv3x3_gpu_safe).
conv3x3_params conv3x3_target_variant_defaults(const ocl_target *t, int variant);
// 1 if a Winograd layer's parameters are GPU-shaped: its own weight gradient (wino_dw = 1: the
// CPU variant's weight-gradient kernels spill on GPUs), GEMM register tiles of at most 32
// accumulators (tile_co x wino_tn x 16) and weight-gradient tiles of at most 2 x 2 x 16. Every
// other variant: 1. create() refuses (tune skips) Winograd parameters that are not, on a GPU.
int conv3x3_gpu_safe(const conv3x3_params *p);
// Parameters for a layer shape on this device, first match wins:
//   1. c->conv_variant (ocl_options.conv_variant; PIXLOC_CONV_VARIANT=cpu|gpu|winograd|gpu_tiled
//      for users) forces the variant (tests exercise all of them on PoCL): its table
//      row, unless the tuning file's entry (2.) has that variant; an unknown name exits 2;
//   2. the device's tuning file written by `pixloc tune` (conv3x3_tuned_params);
//   3. the per-device-type default: the CPU row on CPUs, GPU tiled elsewhere;
// then c->conv_wino_m (PIXLOC_WINO_M=2|4 for users; an unknown value exits 2), if set, sets a
// Winograd layer's wino_m, wino_m_dx and wino_m_dw.
conv3x3_params conv3x3_default_params(const ocl_ctx *c, int Cin, int Cout, int H, int W);
// The parameters of a forward-only (inference) layer from a training layer's: a Winograd
// wino_m left at 0 becomes 4 on CPUs (F(4x4,3x3): faster, larger rounding errors, which the
// inference checks take but training's strict gradient checks do not; host/nn/conv.c), and
// bn_in and bn_stats are cleared (an inference network folds its batch norms into the convolutions).
conv3x3_params conv3x3_forward_params(const ocl_target *t, const conv3x3_params *p);
// "2" or "4" -> 2 or 4 (a Winograd output tile side, as PIXLOC_WINO_M and `pixloc kernels
// --wino-m` give it); anything else -> -1.
int conv3x3_wino_m_parse(const char *s);
// m (2 or 4) as every tile side (wino_m, wino_m_dx, wino_m_dw) of a Winograd layer; m = 0 or another
// variant: no change.
void conv3x3_force_wino_m(conv3x3_params *p, int m);
// 3. alone: the defaults of a kernel target (a live device's or a hypothetical one).
conv3x3_params conv3x3_target_params(const ocl_target *t, int Cin, int Cout);
// Appends the programs conv3x3_create_with would build with these parameters on
// target t (assuming its kernels accept the work-groups the target allows); dx = 0: those
// conv3x3_create_input_layer builds, without the input-gradient program it builds late.
void conv3x3_programs(const ocl_target *t, const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, int dx,
                      ocl_program_list *out);
// Builds the layer with these parameters. If GPU tiled parameters do not fit the
// device (work-group size, local memory), warns once and uses the GPU row.
conv3x3 *conv3x3_create_with(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p);
// Same, but returns NULL (printing nothing) when the parameters are invalid, do
// not fit the device or the program does not build: for the tuner.
conv3x3 *conv3x3_create_try(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p);
// A network's first layer: as conv3x3_create_with, but its input-gradient program (a
// network rarely needs the gradient of its input) is built at the first
// conv3x3_backward_input, not here (GPU tiled parameters: here, as they are checked).
// Saves a program build at start-up and its cache store at the end (~1.5 s on PoCL).
conv3x3 *conv3x3_create_input_layer(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p);
// Announces the programs conv3x3_create_with(c, max_N, Cin, Cout, H, W, p) will build
// (ocl_program_prefetch; dx = 0: without the input-gradient program, as
// conv3x3_create_input_layer): a layer's create() calls it, so the programs compile ahead
// of the main thread where helper threads run. Otherwise no effect.
void conv3x3_prefetch(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p, int dx);

// Forward only, for an inference network: no input-gradient program, no flipped
// weights, no weight-gradient partials (conv3x3_backward_* exit 1), and the forward
// program without the weight-gradient kernels. bn_fused != 0: the forward applies a
// per-channel affine after bias and ReLU, y = relu(acc + b)*scale + shift (a folded
// inference batch norm), and conv3x3_forward's bias buffer holds at b_off the Cout
// biases, then the Cout scales, then the Cout shifts. Falls back to 'gpu' as
// conv3x3_create_with does.
conv3x3 *conv3x3_create_forward(ocl_ctx *c, int max_N, int Cin, int Cout, int H, int W, const conv3x3_params *p,
                                int bn_fused);
// The device buffers conv3x3_create_forward allocates (appended to out in allocation order).
void conv3x3_forward_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out);

// The device buffers conv3x3_create_with(c, max_N, Cin, Cout, H, W, p) allocates
// (appended to out in allocation order, Winograd scratch included), and their
// total bytes: the same list create allocates from. (Not covered: GPU tiled
// parameters that do not fit the device, where create_with falls back to 'gpu'.)
void conv3x3_buffers(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W, nn_buffers *out);
size_t conv3x3_bytes(const conv3x3_params *p, int max_N, int Cin, int Cout, int H, int W);

// conv3x3's entries in the device's tuning store (include/runtime/tuning.h, written by
// `pixloc tune`): one line per layer shape,
//   conv3x3 Cin Cout H W variant=NAME tile_co=.. tile_q=.. wg=.. wg_co=.. dw_tk=.. dw_tc=..
//           dw_seg=.. dw_wg=.. wino_tn=.. wino_nb=.. wino_dw=.. wino_m=.. wino_m_dx=.. wino_m_dw=.. wino_nb_dw=..
//           fwd_ms=.. dx_ms=.. dw_ms=..
// (one line; parameters left out take the variant's table value; every field is bounded).
#define CONV3X3_TUNING_KIND "conv3x3"
// Returns 1 and the entry's parameters for an exact (Cin, Cout, H, W) match; 0 if there
// is none, no file, or the entry is malformed (then a warning naming the file and line,
// once, and the defaults).
int conv3x3_tuned_params(const ocl_ctx *c, int Cin, int Cout, int H, int W, conv3x3_params *out);
// Parses an entry's key=value text; returns 0, or -1 with a reason in err.
int conv3x3_tuning_parse(const char *params, conv3x3_params *p, char *err, size_t errlen);
// Parses a whole line ("conv3x3 Cin Cout H W key=value..."); returns 0, or -1 with a reason in err.
int conv3x3_tuning_parse_line(const char *line, int shape[4], conv3x3_params *p, char *err, size_t errlen);
// An entry's key=value text for its parameters and its times (fwd, dx, dw ms).
void conv3x3_tuning_format(char *out, size_t len, const conv3x3_params *p, const double ms[3]);

#endif
