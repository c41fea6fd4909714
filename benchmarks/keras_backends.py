"""Benchmark: the `standard` protocol's training step under Keras's TensorFlow and JAX backends.

The protocol's network (ConvNet-3 width 128, instance norm, DSA) on CIFAR-10-sized images
(32x32x3, 10 classes) at 1 and 10 images per class, each backend in a fresh process (Keras
picks its backend once), the processes alternated over --rounds. A process trains the
protocol for `short` steps (a warm-up), again, then for `long` steps; the difference over `long - short` is the time
of a step, model building and compilation cancelled out. Medians over the rounds, and the
ratio of the backends measured in the same rounds.

    python benchmarks/keras_backends.py

Writes results/keras_backends_cpu.{json,md}.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BACKENDS = ('tensorflow', 'jax')
# images per class: (short, long) steps; a step of 100 images costs ~10x one of 10.
SIZES = {1: (20, 120), 10: (5, 35)}


def worker(per_class):
    """Seconds of `long - short` steps of the standard protocol in this process's backend."""
    import numpy as np
    from tfkip._runtime import configure_xla_cpu
    configure_xla_cpu()
    from tfkip.transfer.train import TransferConfig, train_and_evaluate
    rng = np.random.default_rng(0)
    n = 10 * per_class
    images = rng.normal(size=(n, 32, 32, 3)).astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[np.arange(n) % 10]
    test = rng.normal(size=(100, 32, 32, 3)).astype(np.float32)
    short, long = SIZES[per_class]
    seconds = []
    for steps in (short, short, long):  # the first warms the process's one-time costs up
        start = time.perf_counter()
        train_and_evaluate(TransferConfig(steps=steps, seeds=(0,)), images, labels, test,
                           np.arange(100) % 10)
        seconds.append(time.perf_counter() - start)
    return (seconds[2] - seconds[1]) / (long - short)


def markdown(result):
    lines = ['# Keras backends: the `standard` protocol\'s training step', '',
             'Written by `benchmarks/keras_backends.py`. ' + result['what'], '',
             f'Machine: {result["machine"]}; Keras {result["keras"]}, TensorFlow '
             f'{result["tensorflow"]}; {result["rounds"]} rounds; commit {result["commit"]}.', '',
             '| images/class | TensorFlow s/step | JAX s/step | JAX / TensorFlow (median of '
             'the rounds\' ratios) |', '|---|---|---|---|']
    for row in result['rows']:
        lines.append(f'| {row["images_per_class"]} | {row["tensorflow"]:.3f} | {row["jax"]:.3f}'
                     f' | {row["ratio"]:.2f} |')
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--worker', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker)))
        return 0
    import numpy as np
    from tfkip._runtime import configure_xla_cpu
    configure_xla_cpu()
    import keras
    import tensorflow as tf
    from _common import commit, describe, machine, run_json, write_results
    rows = []
    for per_class in SIZES:
        timings = {b: [] for b in BACKENDS}
        for _ in range(args.rounds):
            for backend in BACKENDS:
                timings[backend].append(run_json(__file__, ['--worker', per_class],
                                                 env={'KERAS_BACKEND': backend}))
                print(f'{per_class}/class {backend}: {timings[backend][-1]:.3f} s/step',
                      flush=True)
        rows.append({'images_per_class': per_class, 'timings': timings,
                     **{b: float(np.median(timings[b])) for b in BACKENDS},
                     'ratio': float(np.median(np.divide(timings['jax'], timings['tensorflow'])))})
    short_long = ', '.join(f'{k}/class: {s} and {lo} steps' for k, (s, lo) in SIZES.items())
    result = {'what': 'Each backend in a fresh process, alternated; a step is the difference '
                      f'of two trainings ({short_long}) over their steps, batch = the set.',
              'machine': describe(machine()), 'keras': keras.__version__,
              'tensorflow': tf.__version__, 'rounds': args.rounds, 'commit': commit(),
              'rows': rows}
    write_results(os.path.join(HERE, 'results', 'keras_backends_cpu'), result,
                  markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
