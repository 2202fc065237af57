#!/usr/bin/env bash
# `make peers`: installs the peer libraries of `kernelbench run --peers` into
# a git-ignored virtual environment inside the project, .peers/venv, and
# prints the variable that points kernelbench at them. Safe to re-run: an
# installed library is kept.
#
#   Intel MKL: PyPI package mkl (its wheel puts libmkl_rt.so.N and, through
#   intel-openmp, the OpenMP runtime libiomp5 under .peers/venv/lib).
#
# Writes .peers/env (KERNELBENCH_MKL=<absolute path>) for scripts and CI.
# MKL_PIP_SPEC overrides the requirement (default: the version reports/peers.md was measured with).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
spec="${MKL_PIP_SPEC:-mkl==2026.2.1}"
venv="$root/.peers/venv"
python="${PYTHON:-/usr/bin/python3}"
[ -x "$python" ] || python="$(command -v python3)"

if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
    echo "peers: Intel MKL's PyPI wheels are for x86_64; this is $(uname -s) $(uname -m) (set KERNELBENCH_MKL to an MKL you have, if any)" >&2
    exit 1
fi

find_mkl() { ls "$venv"/lib/libmkl_rt.so.* 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(find_mkl)" ] || ! "$venv/bin/python" -m pip show -q mkl >/dev/null 2>&1; then
    echo "peers: installing Intel MKL ($spec) from PyPI into .peers/venv (about 300 MB to download)"
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv" || {
            echo "peers: could not create a virtual environment with $python (Debian: apt-get install python3-venv)" >&2
            exit 1
        }
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "$spec" || {
        echo "peers: pip could not install $spec from PyPI (network?)" >&2
        exit 1
    }
fi
lib="$(find_mkl)"
if [ -z "$lib" ]; then
    echo "peers: the mkl package is installed but .peers/venv/lib has no libmkl_rt.so.N" >&2
    exit 1
fi
version="$("$venv/bin/python" -m pip show mkl 2>/dev/null | sed -n 's/^Version: //p')"
# Single-quoted, so that sh (make, .ci/run) can source it whatever the path holds.
printf "KERNELBENCH_MKL='%s'\n" "${lib//\'/\'\\\'\'}" > "$root/.peers/env"
echo "peers: Intel MKL $version: $lib"
echo "peers: to measure it, set the variable and run with --peers mkl:"
echo "  export KERNELBENCH_MKL=$lib"
echo "  swift run -c release kernelbench run --peers mkl"
