"""Benchmark: a KIP-FC step with OpenBLAS on every core against OpenBLAS on one thread.

JAX's CPU Cholesky and triangular solves run in SciPy's OpenBLAS, whose spinning worker
threads compete with XLA's thread pool (see `tfkip/_runtime.py`, which therefore sets
OPENBLAS_NUM_THREADS=1). OpenBLAS reads its thread count once, when it is loaded, so each
setting is timed in a fresh process; the two settings alternate, --rounds times, so that
both see the same machine.

    python benchmarks/blas_threads.py

The step: the MNIST 50 images/class KIP-FC step of `kip_mnist.py` (500 support images,
1,000 targets, 28x28x1, depth-3 FC NTK, images and labels learned, Adam) on random
images. Writes results/blas_threads_<platform>.{json,md}: the median seconds per step of
each setting over all its timings, and their ratio.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SUPPORT, TARGETS, SHAPE = 500, 1000, (28, 28, 1)


def child(steps, repeats):
    """Times the step in this process; prints one JSON line."""
    from tfkip._runtime import configure_xla_cpu
    configure_xla_cpu()  # OPENBLAS_NUM_THREADS is set by the parent, so it stays

    import jax
    from tfkip.distill import step_kernels
    from tfkip.kernels import KernelConfig, make_kernel_fn

    from _timing import step_rate
    from kip_mnist import machine

    kernel = KernelConfig('fc', depth=3, kernel='ntk')
    _, rates = step_rate(step_kernels.exact(make_kernel_fn(kernel)), kernel.initial_hparams(),
                         SUPPORT, TARGETS, SHAPE, steps=steps, repeats=repeats)
    print(json.dumps({'seconds': [1 / r for r in rates], 'machine': machine(),
                      'platform': jax.devices()[0].platform}))


def measure(threads, steps, repeats):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, '--child', '--steps', str(steps),
                          '--repeats', str(repeats)], env=env, cwd=HERE, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def markdown(result):
    info, rows = result['machine'], result['settings']
    lines = [
        '# A KIP-FC step: OpenBLAS threads on every core against one',
        '',
        f'Machine: {info["cpu"]}, {info["cores"]} cores; JAX {info["jax"]} on '
        f'{", ".join(info["devices"])}; XLA_FLAGS={info["xla_flags"]}. Written by '
        f'`benchmarks/blas_threads.py`; {result["rounds"]} rounds, each a fresh process per '
        f'setting (alternating), {result["repeats"]} timings of {result["steps"]} steps each '
        'after a compiled warm-up step.',
        '',
        f'The step: {SUPPORT} support images, {TARGETS} targets, 28x28x1, depth-3 FC NTK, images '
        'and labels learned, Adam (the MNIST 50 images/class KIP-FC step).',
        '',
        '| OPENBLAS_NUM_THREADS | median s/step | fastest s/step | slowest s/step |',
        '|---|---|---|---|',
    ]
    for row in rows:
        lines.append(f'| {row["threads"]} | {row["median_s"] * 1e3:.1f} ms | '
                     f'{min(row["seconds"]) * 1e3:.1f} ms | {max(row["seconds"]) * 1e3:.1f} ms |')
    lines += ['', f'One OpenBLAS thread is **{result["speedup"]:.2f}x** faster per step '
              '(ratio of the medians).']
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=3,
                        help='fresh processes per setting, alternating')
    parser.add_argument('--steps', type=int, default=20, help='steps per timing')
    parser.add_argument('--repeats', type=int, default=3, help='timings per process')
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.steps, args.repeats)

    import numpy as np
    from _timing import write_results

    settings = [os.cpu_count(), 1]
    seconds, info = {t: [] for t in settings}, None
    for round_ in range(args.rounds):
        for threads in settings:
            run = measure(threads, args.steps, args.repeats)
            seconds[threads] += run['seconds']
            info = info or {**run['machine'], 'platform': run['platform']}
            print(f'round {round_ + 1}: OPENBLAS_NUM_THREADS={threads}: '
                  f'{np.median(run["seconds"]) * 1e3:.1f} ms/step', flush=True)
    rows = [{'threads': t, 'seconds': s, 'median_s': float(np.median(s))}
            for t, s in seconds.items()]
    result = {'machine': info, 'rounds': args.rounds, 'steps': args.steps,
              'repeats': args.repeats, 'settings': rows,
              'speedup': rows[0]['median_s'] / rows[1]['median_s']}
    write_results(os.path.join(args.results, f'blas_threads_{info["platform"]}'), result,
                  markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
