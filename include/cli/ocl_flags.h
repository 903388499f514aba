// The device settings from the edge of the program: the environment, read once,
// and the common device flags. Library code (everything below host/cli/) reads no
// environment variable; it gets these settings in ocl_options.
#ifndef PIXLOC_OCL_FLAGS_H
#define PIXLOC_OCL_FLAGS_H

#include "ocl.h"

// Fills *o from the environment (an empty value counts as unset):
//   PIXLOC_PLATFORM, PIXLOC_DEVICE, PIXLOC_DEVICE_TYPE, PIXLOC_KERNEL_DIR -> the same fields;
//   PIXLOC_CACHE_DIR (a directory, or "off"), else $XDG_CACHE_HOME/pixloc, else
//     $HOME/.cache/pixloc -> cache_dir: the one resolution of the cache directory, used
//     by the compiled-kernel cache and the tuning file alike;
//   PIXLOC_CACHE_DEBUG (set, any value) -> cache_debug;
//   PIXLOC_MAX_ALLOC_MB (a positive whole number; anything else is ignored) -> max_alloc_mb;
//   PIXLOC_CONV_VARIANT -> conv_variant, PIXLOC_WINO_M -> conv_wino_m (both checked where
//     they are used, by nn/conv.c);
//   PIXLOC_KERNEL_PROFILE -> kernel_profile (checked by ocl_init).
//   PIXLOC_MAX_WORK_GROUP (a whole number, 1 to 2^20; anything else is ignored) -> max_wg_cap:
//     pixloc treats the device's CL_DEVICE_MAX_WORK_GROUP_SIZE as at most this (for tests).
// The strings point into the environment: call it again after changing it.
void ocl_options_from_env(ocl_options *o);
// ocl_options_from_env, then the common device flags from argv (--platform, --device,
// --device-type, --kernel-dir, --no-kernel-cache), which win, removed from argv so
// each subcommand parses only its own flags. Exits 2 on a device flag without its value.
void ocl_options_from_args(ocl_options *o, int *argc, char **argv);
// The help text of those flags, for each subcommand's --help.
extern const char *const OCL_OPTIONS_HELP;
// `pixloc devices`'s note after "tuned: no".
extern const char *const OCL_UNTUNED_NOTE;

#endif
