"""Benchmark: the `standard` protocol's Keras training steps under TF's thread settings.

The quick start's 10 Keras networks took about 20 s each on 2026-11-30 and 96-126 s on
2026-12-01, on the same code and packages, while JAX steps were only 1.5-1.7x slower: tiny
batches of small ops, where TF's thread pools hand every op between threads, may suffer
most from a busy shared host. This times one training step of `tfkip.transfer`'s
`standard` protocol (ConvNet-3 width 128, instance norm, DSA, SGD; batch = the set) under
each setting, in a fresh process per setting (TF fixes its thread pools when its runtime
starts), the settings alternating --rounds times so that all see the same machine.

    python benchmarks/keras_threads.py

A step's time is (t(long) - t(short)) / (long - short steps) of two `train_and_evaluate`
calls in one process, so model building, tracing and the test pass cancel out. Writes
results/keras_threads_cpu.{json,md}: per workload, the median seconds per step of each
setting and its ratio to TF's default.
"""
import argparse
import json
import os
import sys
import time

from _child import run_json

HERE = os.path.dirname(os.path.abspath(__file__))
# name -> (environment, TF intra-op threads, TF inter-op threads); 0: TF's default.
SETTINGS = {
    'TF default': ({}, 0, 0),
    'intra 1, inter 1': ({}, 1, 1),
    'intra 2, inter 1': ({}, 2, 1),
    'oneDNN off': ({'TF_ENABLE_ONEDNN_OPTS': '0'}, 0, 0),
}
# name -> (images in the set, image shape): the quick start's set and CIFAR-10 at 10/class.
WORKLOADS = {'digits 10/class (8x8x1)': (100, (8, 8, 1)),
             'CIFAR-10 10/class (32x32x3)': (100, (32, 32, 3))}


def child(intra, inter, short, long):
    """Times each workload's step in this process; prints one JSON line."""
    import numpy as np

    from tfkip._tf import tf
    threading = tf().config.threading
    threading.set_intra_op_parallelism_threads(intra)
    threading.set_inter_op_parallelism_threads(inter)
    from tfkip.transfer.train import protocol, train_and_evaluate

    rng = np.random.default_rng(0)
    seconds = {}
    for name, (n, shape) in WORKLOADS.items():
        images = rng.normal(size=(n,) + shape).astype(np.float32)
        labels = np.eye(10, dtype=np.float32)[np.arange(n) % 10]
        test = rng.normal(size=(10,) + shape).astype(np.float32)
        times = {}
        for steps in (short, long):
            config = protocol('standard', steps=steps, seeds=(0,))
            start = time.perf_counter()
            train_and_evaluate(config, images, labels, test, np.arange(10))
            times[steps] = time.perf_counter() - start
        seconds[name] = (times[long] - times[short]) / (long - short)
    print(json.dumps({'seconds': seconds}))


def measure(name, short, long):
    env, intra, inter = SETTINGS[name]
    return run_json(__file__, ['--child', intra, inter, '--steps', short, long],
                    env=env)['seconds']


def markdown(result):
    lines = [
        '# The `standard` protocol\'s Keras step under TF\'s thread settings',
        '',
        f'Machine: {result["machine"]}; TF {result["tf"]}, Keras {result["keras"]}; run on '
        f'{result["date"]}. Written by `benchmarks/keras_threads.py`: {result["rounds"]} '
        'rounds, a fresh process per setting (alternating); a step\'s time is the '
        f'difference of {result["steps"][1]}- and {result["steps"][0]}-step trainings over '
        'the difference in steps. Median over rounds; ratio to TF\'s default (below 1: '
        'faster).',
        '',
        '| workload | ' + ' | '.join(SETTINGS) + ' |',
        '|---|' + '---|' * len(SETTINGS),
    ]
    for workload in WORKLOADS:
        row = result['median_s'][workload]
        base = row['TF default']
        lines.append(f'| {workload} | ' + ' | '.join(
            f'{row[s] * 1e3:.1f} ms ({row[s] / base:.2f}x)' for s in SETTINGS) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=2,
                        help='fresh processes per setting, alternating (default: %(default)s)')
    parser.add_argument('--steps', type=int, nargs=2, default=[20, 120],
                        metavar=('SHORT', 'LONG'),
                        help='steps of the two timed trainings (default: %(default)s)')
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    parser.add_argument('--child', type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    short, long = args.steps
    if args.child:
        return child(*args.child, short, long)

    from importlib.metadata import version

    import numpy as np

    from _machine import cpu_name
    from _timing import write_results

    seconds = {w: {s: [] for s in SETTINGS} for w in WORKLOADS}
    for round_ in range(args.rounds):
        for name in SETTINGS:
            for workload, s in measure(name, short, long).items():
                seconds[workload][name].append(s)
            print(f'round {round_ + 1}, {name}: ' + ', '.join(
                f'{w} {seconds[w][name][-1] * 1e3:.1f} ms' for w in WORKLOADS), flush=True)
    result = {'machine': f'{cpu_name()}, {os.cpu_count()} cores',
              'tf': version('tensorflow'), 'keras': version('keras'),
              'date': time.strftime('%Y-%m-%d %H:%M'),
              'rounds': args.rounds, 'steps': [short, long], 'seconds': seconds,
              'median_s': {w: {s: float(np.median(t)) for s, t in row.items()}
                           for w, row in seconds.items()}}
    write_results(os.path.join(args.results, 'keras_threads_cpu'), result, markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
