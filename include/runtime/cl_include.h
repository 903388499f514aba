// The one place that includes the OpenCL API header: <OpenCL/cl.h> on macOS (the
// system framework), <CL/cl.h> everywhere else (Khronos headers, ICD loaders).
// Every pixloc file that needs the OpenCL types includes this (or ocl.h).
#ifndef PIXLOC_CL_INCLUDE_H
#define PIXLOC_CL_INCLUDE_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/cl.h>
#else
#include <CL/cl.h>
#endif

#endif
