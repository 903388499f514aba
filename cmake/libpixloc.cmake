# libpixloc: the C library for inference (include/api/pixloc/pixloc.h, host/api/). It sits on
# top of train (the predictor and checkpoints) beside cli, and is a shared library with a
# versioned soname built from the same PIC static layers as the binary. Only the public API is
# exported: a version script hides every symbol of the layers (they are linked in, not
# exported), so a program cannot come to depend on them. tests/cli_libpixloc.sh checks the
# exported names with nm -D against the header.

include(GNUInstallDirs)

# The public header's version macros must be the project's.
file(STRINGS ${CMAKE_SOURCE_DIR}/include/api/pixloc/pixloc.h PX_VERSION_LINES REGEX "#define PIXLOC_VERSION_(MAJOR|MINOR|PATCH) ")
set(PX_HEADER_VERSION "")
foreach(line ${PX_VERSION_LINES})
  string(REGEX REPLACE ".* ([0-9]+)$" "\\1" v "${line}")
  list(APPEND PX_HEADER_VERSION ${v})
endforeach()
string(REPLACE ";" "." PX_HEADER_VERSION "${PX_HEADER_VERSION}")
file(STRINGS ${CMAKE_SOURCE_DIR}/include/core/pixloc.h PX_CORE_VERSION REGEX "#define PIXLOC_VERSION ")
string(REGEX REPLACE ".*\"(.*)\".*" "\\1" PX_CORE_VERSION "${PX_CORE_VERSION}")
if(NOT PX_HEADER_VERSION STREQUAL PROJECT_VERSION OR NOT PX_CORE_VERSION STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "version mismatch: project ${PROJECT_VERSION}, include/api/pixloc/pixloc.h "
                      "${PX_HEADER_VERSION}, include/core/pixloc.h ${PX_CORE_VERSION}: update them together")
endif()

file(GLOB PX_API_SRCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/host/api/*.c)
add_library(pixloc_lib SHARED ${PX_API_SRCS})
target_link_libraries(pixloc_lib PRIVATE pixloc_train Threads::Threads)
target_include_directories(pixloc_lib PUBLIC $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include/api>
                                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(pixloc_lib PROPERTIES OUTPUT_NAME pixloc EXPORT_NAME pixloc VERSION ${PROJECT_VERSION}
                                            SOVERSION ${PROJECT_VERSION_MAJOR} C_VISIBILITY_PRESET hidden
                                            LINK_DEPENDS ${CMAKE_SOURCE_DIR}/cmake/libpixloc.map)
target_link_options(pixloc_lib PRIVATE -Wl,--version-script=${CMAKE_SOURCE_DIR}/cmake/libpixloc.map)
# Every symbol resolved at link time (an upward call to cli fails here), except in sanitizer
# builds, where clang leaves the sanitizer runtime's symbols to the program.
if(NOT PIXLOC_SANITIZE AND NOT PIXLOC_FUZZ)
  target_link_options(pixloc_lib PRIVATE -Wl,--no-undefined)
endif()
