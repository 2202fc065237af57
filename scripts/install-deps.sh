#!/usr/bin/env bash
# Installs the Debian packages KernelBench needs, only those that are missing
# (apt-get update first when something must be installed). Safe to re-run.
set -euo pipefail

packages=(
  gcc libc6-dev        # cc for scripts/test-ckernels.sh (libc6-dev is only a recommend of gcc)
  make                 # make run / make test (when this script is run by hand first)
  git                  # paired-kernels.sh (base build from a revision), the git_revision of results
  python3              # test-microbench.sh checks the Google Benchmark JSON
  python3-venv         # make peers: Intel MKL from PyPI in .peers/venv
  binutils             # objcopy/strip for the instruction gate
  pkg-config
  libnuma-dev          # NUMA-aware buffers (CNuma)
  libopenblas-dev      # dense baseline: cblas_sgemv / cblas_sgemm (COpenBLAS)
  libbenchmark-dev     # Google Benchmark harness (Benchmarks/)
  zlib1g-dev           # gzip'd IDX files (CZlib)
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user  # NEON kernels run under qemu-aarch64
  libsimde-dev         # AVX-512 kernels run in portable C on CPUs without AVX-512 (test-ckernels.sh)
  valgrind             # instruction-count gate
  numactl              # placement checks
  dataset-fashion-mnist  # the paper study's data
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root or install them" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
