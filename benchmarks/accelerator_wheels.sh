#!/usr/bin/env bash
# Downloads into .whl/ (git-ignored) the wheels that benchmarks/accelerator_check.sh
# installs on the device machine: its image (Python 3.12 with JAX, optax, numpy, tqdm,
# etils; no TensorFlow) lacks neural-tangents and its frozendict, and Keras (on JAX, for
# the benchmark rows' networks) with what it needs beyond them. Needs the package index.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl neural-tangents==0.6.5 frozendict==2.5.1 \
  keras==3.15.1 namex==0.1.0 optree==0.20.0 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 \
  pygments==2.21.0 h5py==3.14.0
ls -l .whl
