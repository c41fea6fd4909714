"""Benchmark: the Beam preprocessing stage on real CIFAR-10 against an in-memory numpy bound.

Times, in one process and one run, (a) the whole Beam stage on the local FnApiRunner (read and
decode 60,000 JPEGs, channel and ZCA statistics over shards, whiten, write TFRecord shards and
stats) and (b) the same work in memory with numpy (threaded decode, the same statistics in one
float64 pass, whiten, save one .npy per split), each REPEATS times alternately; reports medians,
their ratio, and how far the two sets of statistics agree.

    mkdir -p .data/cifar10 && tar xzf ../shared/datasets/cifar10-jpeg-imagefolder.tar.gz -C .data/cifar10
    python benchmarks/beam_preprocess_cifar10.py --data .data/cifar10
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

from tfkip import preprocess, sources
from tfkip.beam.preprocess import preprocess as beam_preprocess
from tfkip.formats.prepared import STATS

import _common

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = preprocess.PreprocessConfig(zca_reg=0.1)  # the paper's CIFAR-10 preprocessing
TARGET_RATIO = 3.0


def machine():
    import apache_beam
    return {**_common.machine(), 'numpy': np.__version__, 'apache_beam': apache_beam.__version__}


def run_numpy(data, out):
    """In-memory bound: returns (PreprocessStats, {phase: seconds})."""
    times, start = {}, time.perf_counter()
    train, test = sources.load(data, 'train'), sources.load(data, 'test')
    times['read'] = time.perf_counter() - start
    start = time.perf_counter()
    stats = preprocess.fit(CONFIG, train)
    times['stats'] = time.perf_counter() - start
    start = time.perf_counter()
    for split, part in (('train', train), ('test', test)):
        np.save(os.path.join(out, f'{split}.npy'), preprocess.apply(stats, part.images))
    times['transform_and_write'] = time.perf_counter() - start
    times['total'] = sum(times.values())
    return stats, times


def run_beam(data, out):
    start = time.perf_counter()
    beam_preprocess(data, out, CONFIG)
    seconds = time.perf_counter() - start
    return sources.open_source(out).stats(), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='.data/cifar10',
                        help='extracted CIFAR-10 ImageFolder (default: %(default)s)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='alternating runs of each; medians reported (default: %(default)s)')
    parser.add_argument('--results', default=os.path.join(HERE, 'results'),
                        help='where beam_preprocess_cifar10.{json,md} go (default: %(default)s)')
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix='tfkip-beam-bench-')
    beam_s, numpy_runs = [], []
    try:
        for i in range(args.repeats):
            beam_stats, seconds = run_beam(args.data, os.path.join(work, 'beam'))
            beam_s.append(seconds)
            print(f'run {i + 1}: beam {seconds:.1f} s', flush=True)
            os.makedirs(os.path.join(work, 'numpy'), exist_ok=True)
            numpy_stats, times = run_numpy(args.data, os.path.join(work, 'numpy'))
            numpy_runs.append(times)
            print(f'run {i + 1}: numpy {json.dumps({k: round(v, 1) for k, v in times.items()})}',
                  flush=True)
        stats_bytes = os.path.getsize(os.path.join(work, 'beam', STATS))
        shard_bytes = sum(os.path.getsize(os.path.join(work, 'beam', f))
                          for f in os.listdir(os.path.join(work, 'beam')))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def rel(a, b):
        return float(np.abs(a - b).max() / np.abs(b).max())

    agreement = {
        'channel_mean': rel(beam_stats.channel.mean, numpy_stats.channel.mean),
        'channel_std': rel(beam_stats.channel.std, numpy_stats.channel.std),
        'zca_mean': rel(beam_stats.zca.mean, numpy_stats.zca.mean),
        'zca_whitening': rel(beam_stats.zca.whitening, numpy_stats.zca.whitening)}
    median = {k: statistics.median(r[k] for r in numpy_runs) for k in numpy_runs[0]}
    beam_median = statistics.median(beam_s)
    result = {
        'machine': machine(), 'date': time.strftime('%Y-%m-%d'), 'data': args.data,
        'num_train': beam_stats.num_train, 'image_shape': list(beam_stats.image_shape),
        'config': CONFIG.to_dict(), 'repeats': args.repeats, 'runner': 'FnApiRunner (local)',
        'beam_seconds': beam_s, 'numpy_seconds': numpy_runs,
        'beam_median_s': beam_median, 'numpy_median_s': median,
        'ratio_to_numpy_total': beam_median / median['total'],
        'ratio_to_numpy_read_and_stats': beam_median / (median['read'] + median['stats']),
        'target_ratio': TARGET_RATIO, 'stats_max_relative_difference': agreement,
        'output_bytes': shard_bytes, 'stats_bytes': stats_bytes}
    result['meets_target'] = result['ratio_to_numpy_total'] <= TARGET_RATIO
    _common.write_results(os.path.join(args.results, 'beam_preprocess_cifar10'), result,
                          markdown(result))
    return 0 if result['meets_target'] else 1


def markdown(r):
    m, n = r['machine'], r['numpy_median_s']
    return '\n'.join([
        '# Beam preprocessing stage on CIFAR-10 vs an in-memory numpy bound',
        '',
        f'Machine: {m["cpu"]}, {m["cores"]} cores; Python {m["python"]}, numpy {m["numpy"]}, '
        f'Apache Beam {m["apache_beam"]} ({r["runner"]}). {r["date"]}. Written by '
        '`benchmarks/beam_preprocess_cifar10.py`.',
        f'Work: {r["num_train"]:,} train + 10,000 test JPEGs {tuple(r["image_shape"])}; '
        f'per-channel standardization, regularized ZCA (lambda={r["config"]["zca_reg"]}, '
        f'd={int(np.prod(r["image_shape"]))}) fitted on train, applied to both splits. '
        f'Medians of {r["repeats"]} alternating runs.',
        '',
        '| pipeline | read + decode | statistics | whiten + write | total |',
        '|---|---|---|---|---|',
        f'| numpy, in memory (.npy out) | {n["read"]:.1f} s | {n["stats"]:.1f} s | '
        f'{n["transform_and_write"]:.1f} s | {n["total"]:.1f} s |',
        f'| Beam stage (TFRecord shards out) | | | | {r["beam_median_s"]:.1f} s |',
        '',
        f'Beam / numpy total: **{r["ratio_to_numpy_total"]:.2f}x** (target <= '
        f'{r["target_ratio"]:.0f}x: {"met" if r["meets_target"] else "NOT met"}); '
        f'Beam / numpy read + statistics only: {r["ratio_to_numpy_read_and_stats"]:.2f}x.',
        '',
        'Largest difference between the Beam and numpy statistics, relative to the largest '
        'entry: ' + ', '.join(f'{k} {v:.1e}' for k, v in
                              r['stats_max_relative_difference'].items()) + '.',
        f'All runs (s): Beam {[round(s, 1) for s in r["beam_seconds"]]}, numpy '
        f'{[round(t["total"], 1) for t in r["numpy_seconds"]]}.',
        '']) + '\n'


if __name__ == '__main__':
    sys.exit(main())
