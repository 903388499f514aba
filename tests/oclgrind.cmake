# Kernel tests at tiny shapes (PIXLOC_TEST_TINY=1) under Oclgrind, label `oclgrind`:
# out-of-bounds accesses, data races, uninitialized values and OpenCL API misuse.
# Oclgrind prints its reports on stderr but leaves the exit status alone, so each
# test runs through this same file in script mode (cmake -P), which fails on a
# non-zero exit (or a crash) and on any Oclgrind report.
#
# Exceptions, each deliberate:
#  - test_ocl builds a broken kernel on purpose: exactly that one clBuildProgram
#    CL_BUILD_PROGRAM_FAILURE report is expected (and required) there.
#  - test_conv runs without --uninitialized in oclgrind_test_conv, and with it in
#    oclgrind_test_conv_uninit_<variant> at -O0 (OCLGRIND_BUILD_OPTIONS=-cl-opt-disable):
#    at -O2 Oclgrind 21.10 (Debian 12)'s uninitialized-value plugin segfaults on the CPU
#    style kernels and makes the GPU style ones compute wrong results (tests fail only
#    under the plugin). At -O0 it works for the cpu, gpu and gpu_tiled variants; winograd
#    is left out because the plugin segfaults there even at -O0 (in
#    Uninitialized::instructionExecuted). The ~1000 reports it gave at -O0 in conv_dw_tile,
#    conv_db_tile and conv_dw_reduce were false: hsum16's .lo/.hi swizzles become
#    shufflevectors with an undef operand, which the plugin counts as uninitialized
#    (every input buffer is written in full by the test); hsum16 now adds extracted lanes,
#    in the same order, and the plugin reports nothing.

if(CMAKE_SCRIPT_MODE_FILE)
  # cmake -DOCLGRIND=... "-DFLAGS=--a --b" -DEXE=... [-DEXPECT_API_BUILD_FAILURE=1] -P oclgrind.cmake
  separate_arguments(FLAGS UNIX_COMMAND "${FLAGS}")
  execute_process(COMMAND ${OCLGRIND} ${FLAGS} ${EXE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}")
  message("${err}")
  set(expected "Oclgrind - OpenCL runtime error detected\n\tFunction: clBuildProgram\n\tError:    CL_BUILD_PROGRAM_FAILURE\n")
  if(EXPECT_API_BUILD_FAILURE)
    string(FIND "${err}" "${expected}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "oclgrind: the expected clBuildProgram failure report of ${EXE} is missing")
    endif()
    string(REPLACE "${expected}" "" err "${err}")
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "oclgrind: ${EXE} exited with '${rc}'")
  endif()
  set(report "Invalid (read|write)|[Dd]ata race|Uninitialized value|OpenCL runtime error detected|divergence detected|Invalid memory|Unhandled|[Uu]nsupported|Oclgrind - ")
  string(REGEX MATCH "[^\n]*(${report})[^\n]*" hit "${err}\n${out}")
  if(hit)
    message(FATAL_ERROR "oclgrind reported a problem in ${EXE}: ${hit}")
  endif()
  return()
endif()

find_program(OCLGRIND oclgrind)
if(NOT OCLGRIND)
  message(STATUS "oclgrind not found: the `oclgrind` kernel checks are not registered (apt install oclgrind)")
  return()
endif()
set(OCLGRIND_ALL --data-races --uninitialized --check-api)
foreach(t test_conv test_batchnorm test_head test_adam test_ocl)
  set(flags ${OCLGRIND_ALL})
  set(extra "")
  if(t STREQUAL "test_conv")
    set(flags --data-races --check-api)
  elseif(t STREQUAL "test_ocl")
    set(extra -DEXPECT_API_BUILD_FAILURE=1)
  endif()
  string(REPLACE ";" " " flags_arg "${flags}")
  add_test(NAME oclgrind_${t}
           COMMAND ${CMAKE_COMMAND} -DOCLGRIND=${OCLGRIND} "-DFLAGS=${flags_arg}" -DEXE=$<TARGET_FILE:${t}> ${extra}
                   -P ${CMAKE_CURRENT_LIST_FILE})
  # Tiny shapes; no kernel cache (binaries of another platform must not be offered to Oclgrind);
  # Oclgrind's simulated device only: no device selector inherited from PIXLOC_TEST_DEVICE or the caller.
  set_tests_properties(oclgrind_${t} PROPERTIES LABELS oclgrind TIMEOUT 900
                       ENVIRONMENT "PIXLOC_PLATFORM=;PIXLOC_DEVICE=;PIXLOC_DEVICE_TYPE=;PIXLOC_TEST_TINY=1;PIXLOC_CACHE_DIR=off;PIXLOC_KERNEL_DIR=;PIXLOC_TEST_DATA=${CMAKE_CURRENT_SOURCE_DIR}/data")
endforeach()
# The GPU-shaped kernels (PIXLOC_KERNEL_PROFILE=gpu: work-groups of 256, local-memory
# trees) of batch norm, the head, Adam and ReLU under every check. The GPU conv kernels
# (gpu, gpu_tiled) are in oclgrind_test_conv and oclgrind_test_conv_uninit_* already.
foreach(t test_batchnorm test_head test_adam test_relu)
  add_test(NAME oclgrind_${t}_gpu
           COMMAND ${CMAKE_COMMAND} -DOCLGRIND=${OCLGRIND} "-DFLAGS=--data-races --uninitialized --check-api"
                   -DEXE=$<TARGET_FILE:${t}> -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(oclgrind_${t}_gpu PROPERTIES LABELS oclgrind TIMEOUT 900
                       ENVIRONMENT "PIXLOC_TEST_TINY=1;PIXLOC_KERNEL_PROFILE=gpu;PIXLOC_CACHE_DIR=off;PIXLOC_KERNEL_DIR=;PIXLOC_TEST_DATA=${CMAKE_CURRENT_SOURCE_DIR}/data")
endforeach()
# One Oclgrind test: exe under flags, on Oclgrind's simulated device alone (no device selector
# inherited), with no kernel cache, and the environment `env` (a list) added.
function(oclgrind_test name exe flags env)
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DOCLGRIND=${OCLGRIND} "-DFLAGS=${flags}" -DEXE=${exe}
                                -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(${name} PROPERTIES LABELS oclgrind TIMEOUT 900
                       ENVIRONMENT "PIXLOC_PLATFORM=;PIXLOC_DEVICE=;PIXLOC_DEVICE_TYPE=;PIXLOC_CACHE_DIR=off;PIXLOC_KERNEL_DIR=;PIXLOC_TEST_DATA=${CMAKE_CURRENT_SOURCE_DIR}/data;${env}")
endfunction()
# The whole tiny networks of test_net_gradcheck (the batch norms fused into the Winograd
# convolutions among them) on both kernel profiles, and the GPU-shaped Winograd kernels
# (bn_in included), under --data-races --check-api (the conv kernels' --uninitialized: above).
foreach(p cpu gpu)
  oclgrind_test(oclgrind_test_net_gradcheck_${p} $<TARGET_FILE:test_net_gradcheck> "--data-races --check-api"
                "PIXLOC_KERNEL_PROFILE=${p}")
endforeach()
oclgrind_test(oclgrind_test_conv_winograd_gpu $<TARGET_FILE:test_conv> "--data-races --check-api"
              "PIXLOC_TEST_TINY=1;PIXLOC_TEST_VARIANT=winograd;PIXLOC_KERNEL_PROFILE=gpu")
# test_conv under --uninitialized, at -O0 (see above), one variant per test so each
# stays within its timeout on a 2-core machine.
foreach(v cpu gpu gpu_tiled)
  oclgrind_test(oclgrind_test_conv_uninit_${v} $<TARGET_FILE:test_conv> "--uninitialized --check-api"
                "PIXLOC_TEST_TINY=1;PIXLOC_TEST_VARIANT=${v};OCLGRIND_BUILD_OPTIONS=-cl-opt-disable")
endforeach()
