#!/usr/bin/env bash
# Installs what pixloc needs on Debian 12 (as root; skipped when everything is
# present) and configures + builds it in ./build. Used by both README commands.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(cmake gcc make pkg-config ocl-icd-opencl-dev opencl-c-headers ocl-icd-libopencl1 pocl-opencl-icd clinfo
      libcjson-dev libcsv-dev libpng-dev libplplot-dev plplot-driver-cairo protobuf-c-compiler libprotobuf-c-dev
      help2man dpkg-dev file ${PIXLOC_EXTRA_PKGS:-})
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${PIXLOC_CMAKE_FLAGS:-} >/dev/null
cmake --build build -j"$(nproc)"
