#!/usr/bin/env bash
# The README's test command: set-up, build (warnings as errors) and the whole CTest suite on PoCL.
set -euo pipefail
cd "$(dirname "$0")/.."
PIXLOC_EXTRA_PKGS="oclgrind ${PIXLOC_EXTRA_PKGS:-}" PIXLOC_CMAKE_FLAGS="-DPIXLOC_WERROR=ON" bash tools/setup.sh
cd build
ctest --output-on-failure -j2 --timeout 900
