// The network's architecture as plain data (no OpenCL): what net.h builds, what
// checkpoints store and what the plain C references in tests/ compute with.
#ifndef PIXLOC_NET_CONFIG_H
#define PIXLOC_NET_CONFIG_H

#include <stddef.h>
#include "input_filter.h"

#define NET_MAX_BLOCKS 16

// The training loss of the sigmoid heatmap against the target heatmap.
enum { NET_LOSS_MSE = 0, NET_LOSS_BCE = 1 };

typedef struct {
    int nblocks;
    int channels[NET_MAX_BLOCKS]; // output channels of each block (seed: 32,64,128,64,32)
    int relu[NET_MAX_BLOCKS];     // 1: ReLU after conv (seed: all 1)
    int bn[NET_MAX_BLOCKS];       // 1: BatchNorm after ReLU (seed: all 1)
    float bn_momentum;            // Keras momentum (seed 0.99): moving = m*moving + (1-m)*batch
    float bn_eps;                 // 1e-3
    float head_bias_init;         // initial bias of the 1x1 sigmoid head (seed 0)
    int loss;                     // NET_LOSS_MSE (seed) or NET_LOSS_BCE
    int input_filter;             // NET_FILTER_NONE (seed) or NET_FILTER_IMPULSE (input_filter.h)
    float filter_fraction;        // share of the training images the filter was applied to (1: all;
                                  // the others were seen raw: input_filter_selects)
} net_config;

void net_config_seed(net_config *cfg); // the seed's network
// "mse" / "bce" <-> NET_LOSS_*; net_loss_parse returns -1 for another name.
const char *net_loss_name(int loss);
int net_loss_parse(const char *name);
// "32,64,128,64,32" -> channels (the list rules of core/parse.h, each 1..4096,
// at most NET_MAX_BLOCKS); 0, or -1 with err.
int net_config_channels(net_config *cfg, const char *list, char *err, size_t errlen);

#endif
