// The trained network as an ONNX model (`pixloc export --onnx`), written with protobuf-c from
// the schema proto/onnx_subset.proto (the messages and field numbers of ONNX's own onnx.proto).
//
// The graph, opset 13 and IR version 7 (what onnxruntime 1.x and OpenCV 4.x's dnn module both
// read): input "image" float32 N x 1 x H x W (N, H and W dynamic: dim_param "N", "H", "W"),
// then per block Conv 3x3 (zero padding 1, the Keras 'same' of the seed) with bias, Relu if the
// block has one, BatchNormalization (inference form: the moving mean and variance, the net's
// epsilon) if it has one; then the 1x1 Conv head and Sigmoid: output "heatmap" float32
// N x 1 x H x W, the bright pixel at its argmax.
//
// Batch norm stays a BatchNormalization node rather than being folded into convolution weights:
// in this network it follows the ReLU, so it cannot fold into the conv before it, and folding it
// into the conv after it is wrong at the image border (that conv zero-pads the normalised
// values, not the raw ones). The node computes (x - mean) / sqrt(var + eps) * gamma + beta in
// float, as pixloc's kernel does, so the outputs agree to float rounding.
#ifndef PIXLOC_ONNX_EXPORT_H
#define PIXLOC_ONNX_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include "net_config.h"
#include "safetensors.h"

#define ONNX_EXPORT_OPSET      13
#define ONNX_EXPORT_IR_VERSION 7

// The serialized model (malloc'd, *len bytes) for the network cfg with its tensors from
// `weights` (a checkpoint: the names and Keras shapes of net.h, conv kernels (3,3,Cin,Cout)
// become ONNX's (Cout,Cin,3,3)). 0, or -1 with "NAME: problem" in err (NAME = `name`, the
// checkpoint's path for messages) when a tensor is missing, has another shape or dtype, or holds
// a NaN or infinity.
int onnx_export_bytes(const net_config *cfg, const st_file *weights, const char *name, uint8_t **out, size_t *len,
                      char *err, size_t errlen);
// onnx_export_bytes, then written atomically to path (px_write_file_atomic). 0 or -1 (err set).
int onnx_export_write(const net_config *cfg, const st_file *weights, const char *name, const char *path, char *err,
                      size_t errlen);

#endif
