"""Benchmark: the `standard` protocol's training step on Keras's TensorFlow backend with and
without XLA, and on its JAX backend (where the step always compiles).

The protocol's network (ConvNet-3 width 128, instance norm, DSA) on the image sizes tfkip's
sets come in (8x8x1 digits, 28x28x1 MNIST, 32x32x3 CIFAR-10) and at the set sizes the
benchmark rows train on (10, 100 and 400 images: 1 and 10 images per class, and 10 per class
at factor 2). Each variant runs in a fresh process (Keras picks its backend once), the
variants alternated over --rounds. A process trains the protocol on each shape for `steps`
steps, a callback noting when each step's loss is ready: a step's time is the median
interval (from the third step on: a shared machine's interruptions fall in the tails), its
compilation the first step's time less that. Medians over the rounds.

    python benchmarks/keras_backends.py

Writes results/keras_backends_cpu.{json,md}; `tfkip.transfer.train.train_network`'s default
(XLA on TensorFlow or not) and the benchmarks' backend come from its table.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# name: (KERAS_BACKEND, jit_compile)
VARIANTS = {'tensorflow': ('tensorflow', False), 'tensorflow+xla': ('tensorflow', True),
            'jax': ('jax', True)}
# (height, channels, images): steps, about 10 s of steps each on 2 cores.
SHAPES = {(8, 1, 100): 200, (28, 1, 100): 80, (32, 3, 10): 200, (32, 3, 100): 60,
          (32, 3, 400): 20}


def worker(variant):
    """{shape key: (seconds per step, seconds of compilation)} in this process's variant."""
    import keras
    import numpy as np
    from tfkip._runtime import configure_xla_cpu
    configure_xla_cpu()
    from tfkip.transfer.train import TransferConfig, train_network

    class StepTimes(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times = [time.perf_counter()]

        def on_train_batch_end(self, batch, logs=None):
            float(logs['loss'])  # the step has run, not only been dispatched
            self.times.append(time.perf_counter())

    out = {}
    for (height, channels, n), steps in SHAPES.items():
        rng = np.random.default_rng(0)
        images = rng.normal(size=(n, height, height, channels)).astype(np.float32)
        labels = np.eye(10, dtype=np.float32)[np.arange(n) % 10]
        timer = StepTimes()
        train_network(TransferConfig(steps=steps, seeds=(0,)), images, labels, 0,
                      jit_compile=VARIANTS[variant][1], callbacks=[timer])
        intervals = np.diff(timer.times)
        step = float(np.median(intervals[2:]))
        out[f'{height}x{height}x{channels}, {n}'] = (step, float(intervals[0]) - step)
    return out


def markdown(result):
    names = list(VARIANTS)
    lines = ['# Keras backends: the `standard` protocol\'s training step', '',
             'Written by `benchmarks/keras_backends.py`. ' + result['what'], '',
             f'Machine: {result["machine"]}; Keras {result["keras"]}, TensorFlow '
             f'{result["tensorflow"]}; {result["rounds"]} rounds; commit {result["commit"]}.', '',
             '| images, count | ' + ' | '.join(f'{n} ms/step' for n in names)
             + ' | TF+XLA / TF | JAX / TF | ' + ' | '.join(f'{n} compile s' for n in names)
             + ' |', '|---' * (3 + 2 * len(names)) + '|']
    for row in result['rows']:
        lines.append(f'| {row["shape"]} | '
                     + ' | '.join(f'{1000 * row[n]["step"]:.1f}' for n in names)
                     + f' | {row["xla_ratio"]:.2f} | {row["jax_ratio"]:.2f} | '
                     + ' | '.join(f'{row[n]["compile"]:.1f}' for n in names) + ' |')
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--worker', choices=VARIANTS, help=argparse.SUPPRESS)
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
    timings = {v: [] for v in VARIANTS}
    for r in range(args.rounds):
        for variant, (backend, _) in VARIANTS.items():
            timings[variant].append(run_json(__file__, ['--worker', variant],
                                             env={'KERAS_BACKEND': backend}))
            print(f'round {r + 1} {variant}: ' + ', '.join(
                f'{k} {1000 * s:.1f} ms' for k, (s, _) in timings[variant][-1].items()),
                flush=True)
    rows = []
    for shape in timings['jax'][0]:
        per = {v: np.array([t[shape] for t in timings[v]]) for v in VARIANTS}
        rows.append({'shape': shape,
                     **{v: {'step': float(np.median(p[:, 0])), 'compile': float(np.median(p[:, 1])),
                            'steps': p[:, 0].tolist()} for v, p in per.items()},
                     'xla_ratio': float(np.median(per['tensorflow+xla'][:, 0]
                                                  / per['tensorflow'][:, 0])),
                     'jax_ratio': float(np.median(per['jax'][:, 0] / per['tensorflow'][:, 0]))})
    steps = ', '.join(f'{k}: {s}' for k, s in SHAPES.items())
    result = {'what': 'Each variant in a fresh process, alternated; a step is the median '
                      'interval between steps\' losses from the third on ((height, channels, '
                      f'images): {steps} steps), batch = min(256, images); ratios are the '
                      'medians of the rounds\' ratios; compile is the first step less a '
                      'step.',
              'machine': describe(machine()), 'keras': keras.__version__,
              'tensorflow': tf.__version__, 'rounds': args.rounds, 'commit': commit(),
              'rows': rows}
    write_results(os.path.join(HERE, 'results', 'keras_backends_cpu'), result,
                  markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
