"""Benchmark: KIP-FC steps with OpenBLAS on every core against OpenBLAS on one thread.

JAX's CPU Cholesky and triangular solves run in SciPy's OpenBLAS, whose spinning worker
threads compete with XLA's thread pool (see `tfkip/_runtime.py`, which therefore sets
OPENBLAS_NUM_THREADS=1). OpenBLAS reads its thread count once, when it is loaded, so each
setting is timed in a fresh process; the two settings alternate, --rounds times, so that
both see the same machine.

    python benchmarks/blas_threads.py

The steps: those of `kip_mnist.py`'s KIP-FC runs at 1, 10 and 50 images per class (its
kernel, support size and target batch; 28x28x1, images and labels learned, Adam) on random
images. Writes results/blas_threads_<platform>.{json,md}: per step, the median seconds of
each setting over all its timings, and their ratio.
"""
import argparse
import json
import os
import sys

from _child import run_json

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = (28, 28, 1)


def child(steps, repeats):
    """Times each run's step in this process; prints one JSON line."""
    from tfkip._runtime import configure_xla_cpu
    configure_xla_cpu()  # OPENBLAS_NUM_THREADS is set by the parent, so it stays

    import jax
    from tfkip.distill import step_kernels
    from tfkip.kernels import make_kernel_fn

    from _timing import step_rate
    from kip_mnist import RUNS, machine

    seconds = {}
    for ipc, config in sorted(RUNS['fc'].items()):
        _, rates = step_rate(step_kernels.exact(make_kernel_fn(config.kernel)),
                             config.kernel.initial_hparams(), 10 * ipc,
                             config.target_batch_size, SHAPE, steps=steps, repeats=repeats)
        seconds[ipc] = [1 / r for r in rates]
    print(json.dumps({'seconds': seconds, 'machine': machine(),
                      'platform': jax.devices()[0].platform}))


def measure(threads, steps, repeats):
    return run_json(__file__, ['--child', '--steps', steps, '--repeats', repeats],
                    env={'OPENBLAS_NUM_THREADS': str(threads)})


def markdown(result):
    info = result['machine']
    lines = [
        '# KIP-FC steps: OpenBLAS threads on every core against one',
        '',
        f'Machine: {info["cpu"]}, {info["cores"]} cores; JAX {info["jax"]} on '
        f'{", ".join(info["devices"])}; XLA_FLAGS={info["xla_flags"]}. Written by '
        f'`benchmarks/blas_threads.py`; {result["rounds"]} rounds, each a fresh process per '
        f'setting (alternating), {result["repeats"]} timings of {result["steps"]} steps per '
        'step size and process, after a compiled warm-up step.',
        '',
        'The steps of `kip_mnist.py`\'s KIP-FC runs (its kernel, support size and target '
        'batch; 28x28x1, images and labels learned, Adam) on random images; median over all '
        'timings of a setting.',
        '',
        '| images/class | support | targets | OPENBLAS_NUM_THREADS='
        f'{result["threads"][0]} | OPENBLAS_NUM_THREADS=1 | speedup |',
        '|---|---|---|---|---|---|',
    ]
    for row in result['rows']:
        many, one = (row['median_s'][str(t)] for t in result['threads'])
        lines.append(f'| {row["ipc"]} | {row["support"]} | {row["targets"]} | '
                     f'{many * 1e3:.1f} ms | {one * 1e3:.1f} ms | **{many / one:.2f}x** |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=3,
                        help='fresh processes per setting, alternating')
    parser.add_argument('--steps', type=int, default=100, help='steps per timing')
    parser.add_argument('--repeats', type=int, default=3, help='timings per process')
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.steps, args.repeats)

    import numpy as np
    from _timing import write_results
    from kip_mnist import RUNS

    settings = [os.cpu_count(), 1]
    seconds, info = {t: {} for t in settings}, None
    for round_ in range(args.rounds):
        for threads in settings:
            run = measure(threads, args.steps, args.repeats)
            for ipc, timings in run['seconds'].items():
                seconds[threads].setdefault(ipc, []).extend(timings)
            info = info or {**run['machine'], 'platform': run['platform']}
            print(f'round {round_ + 1}: OPENBLAS_NUM_THREADS={threads}: ' + ', '.join(
                f'{ipc}/class {np.median(t) * 1e3:.1f} ms' for ipc, t in run['seconds'].items()),
                flush=True)
    rows = [{'ipc': ipc, 'support': 10 * ipc, 'targets': config.target_batch_size,
             'seconds': {str(t): seconds[t][str(ipc)] for t in settings},
             'median_s': {str(t): float(np.median(seconds[t][str(ipc)])) for t in settings}}
            for ipc, config in sorted(RUNS['fc'].items())]
    result = {'machine': info, 'rounds': args.rounds, 'steps': args.steps,
              'repeats': args.repeats, 'threads': settings, 'rows': rows}
    write_results(os.path.join(args.results, f'blas_threads_{info["platform"]}'), result,
                  markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
