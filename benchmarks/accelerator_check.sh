#!/usr/bin/env bash
# The accelerator check (issue 23): what a session lent a GPU runs first, one command of the
# device tool, under 8 minutes on one GPU.
#
#   bash benchmarks/accelerator_wheels.sh    # here, once: .whl/ with what the image lacks
#   device tool: run  command='bash benchmarks/accelerator_check.sh'  carry=['.whl']
#                     timeout_s=540
#
# 1. the exact ConvNet kernel and its gradient against neural-tangents (convnet_kernel.py);
# 2. KIP steps/s with the ConvNet (and FC) kernel on 1 and on all devices (kip_scaling.py);
# 3. an RFAD step against an exact KIP step (rfad_step_time.py).
# Each writes benchmarks/results/<benchmark>_<device>.{json,md}, <device> the accelerator's
# kind (e.g. nvidia_h200), copied to $OUT where the device tool sets it. It stops at once
# if JAX sees no accelerator; a benchmark that fails or runs out of time is reported and the
# others still run (exit status 1); one out of time prints its Python stack first (SIGABRT to
# faulthandler), so a hang shows where it was. Arguments name benchmarks to run alone
# (e.g. `kip_scaling rfad_step_time`); none: all three. `--networks DIR` instead trains the
# benchmark rows' networks that `run.py --jobs DIR` wrote (device_networks.py), carry=['.whl',
# 'DIR'], their weights to $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
if compgen -G '.whl/*.whl' > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
# JAX owns the accelerator; it allocates as it goes (the benchmarks report peak memory).
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
python3 -c "import jax, sys; d = jax.devices(); print('JAX', jax.__version__, d)
sys.exit(d[0].platform == 'cpu' and 'accelerator_check: JAX sees no accelerator, only the CPU')" \
  || exit 1
if [ "${1:-}" = --networks ]; then
  KERAS_BACKEND=jax exec python3 benchmarks/device_networks.py "$2" "$OUT"
fi
status=0
bench() {  # seconds, script, arguments...
  local limit=$1
  shift
  echo "== $* (at most ${limit} s)"
  timeout -s ABRT "$limit" python3 -X faulthandler "$@" || { echo "!! $1: status $? (failed or out of time)"; status=1; }
}
wanted() { [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; }
# Caps from the H200's first check (results/accelerator_check_nvidia_h200.md): about 120 s
# and 130 s, most of it XLA's GPU compilation; RFAD's exact-KIP step at 100 support images
# did not compile within 140 s, so its script keeps the sizes measured when the cap stops it.
for spec in convnet_kernel:160 kip_scaling:180 rfad_step_time:120; do
  name=${spec%%:*}
  wanted "${@}" && bench "${LIMIT:-${spec##*:}}" "benchmarks/$name.py"
done
if [ -n "${OUT:-}" ]; then
  tag=$(python3 -c "import sys; sys.path.insert(0, 'benchmarks'); import jax
from _common import device_tag; print(device_tag(jax.devices()[0]))")
  cp benchmarks/results/*_"$tag".json benchmarks/results/*_"$tag".md "$OUT"/ 2>/dev/null
fi
exit $status
