"""Benchmark: time per distillation step, RFAD against exact KIP with the ConvNet kernel.

The same step (images and labels learned, Adam) on CIFAR-10-sized images (32x32x3,
10 classes) and the same support and target sizes, with the depth-3 ConvNet:
- exact KIP: the exact ConvNet NNGP (tfkip's fast implementation, the kernel RFAD
  approximates; the NTK costs more still, see results/convnet_kernel_cpu.md);
- RFAD: random features of M fresh finite ConvNets per step (the Platt loss), at the
  library's default M and width, and at the settings of BENCHMARKS.md's RFAD rows.

    python benchmarks/rfad_step_time.py

Writes results/rfad_step_time_<device>.{json,md} (`cpu`, or the accelerator's kind): medians of --repeats timed steps after
a compiled warm-up step, and the speedup of each RFAD setting over exact KIP, all from one run.
"""
import argparse
import os
import sys

from tfkip._runtime import configure_xla_cpu

configure_xla_cpu()  # before JAX starts its CPU backend

import jax  # noqa: E402

from tfkip.distill import step_kernels  # noqa: E402
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn  # noqa: E402
from tfkip.distill.methods.rfad import RFADOptions  # noqa: E402
from tfkip.distill.methods.rfad.features import make_feature_fn  # noqa: E402

from _common import device_name, device_tag, machine, write_results  # noqa: E402
from _timing import step_rate  # noqa: E402
from rows import PRESETS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL = KernelConfig('convnet', depth=3, kernel='nngp')
SHAPE = (32, 32, 3)
# (support images, targets per step): 1 and 10 images per class of 10 classes; 500 targets
# is the batch of BENCHMARKS.md's RFAD rows.
SIZES = ((10, 100), (100, 100), (100, 500))
# name: (num_models, width). 'rows' are BENCHMARKS.md's RFAD rows (sized for 2 CPU cores).
RFAD = {'default': (RFADOptions().rf_models, RFADOptions().rf_width),
        'rows': (PRESETS['rfad'].options.rf_models, PRESETS['rfad'].options.rf_width)}


def measure(support, targets, repeats):
    """{'exact': seconds per step, 'rfad_<name>': ...} at one size."""
    hparams = KERNEL.initial_hparams()
    exact, exact_timings = step_rate(step_kernels.exact(make_kernel_fn(KERNEL)), hparams,
                                     support, targets, SHAPE, repeats=repeats)
    row = {'support': support, 'targets': targets, 'exact_s': 1 / exact,
           'exact_timings_s': [1 / t for t in exact_timings], 'rfad': {}}
    print(f'S={support} T={targets}: exact KIP {1 / exact:.2f} s/step', flush=True)
    for name, (models, width) in RFAD.items():
        kernels = step_kernels.random_features(
            make_feature_fn(KERNEL, num_models=models, width=width))
        rate, timings = step_rate(kernels, hparams, support, targets, SHAPE,
                                  repeats=max(repeats, 5), loss='platt')
        row['rfad'][name] = {'models': models, 'width': width, 'seconds': 1 / rate,
                             'timings_s': [1 / t for t in timings],
                             'speedup': row['exact_s'] * rate}
        print(f'  RFAD {name} (M={models}, width {width}): {1 / rate:.3f} s/step, '
              f'{row["exact_s"] * rate:.0f}x', flush=True)
    return row


def markdown(result):
    info = result['machine']
    lines = [
        '# RFAD against exact KIP: time per distillation step',
        '',
        f'Machine: {info["cpu"]}, {info["cores"]} cores; JAX {info["jax"]} on '
        f'{device_name(info, ", ".join(info["devices"]))}. Written by '
        '`benchmarks/rfad_step_time.py`; one run; '
        f'medians of {result["repeats"]} (exact) and {max(result["repeats"], 5)} (RFAD) timed '
        'steps after a compiled warm-up step.',
        '',
        'One step = kernels, KRR solve, loss, gradient with respect to the support images '
        'and labels, Adam update; 32x32x3 images, 10 classes, depth-3 ConvNet. Exact KIP: the '
        'exact ConvNet NNGP (fast implementation; the kernel RFAD approximates and is evaluated '
        'with). RFAD: random features of M ConvNets of the given width, drawn afresh each step, '
        'Platt loss.',
        '',
        '| support | targets/step | exact KIP | ' + ' | '.join(
            f'RFAD {name} (M={m}, width {w})' for name, (m, w) in RFAD.items()) + ' | '
        + ' | '.join(f'speedup, {name}' for name in RFAD) + ' |',
        '|---|---|---|' + '---|' * (2 * len(RFAD)),
    ]
    for row in result['rows']:
        lines.append(
            f'| {row["support"]} | {row["targets"]} | {row["exact_s"]:.2f} s | '
            + ' | '.join(f'{row["rfad"][n]["seconds"]:.3f} s' for n in RFAD) + ' | '
            + ' | '.join(f'**{row["rfad"][n]["speedup"]:.0f}x**' for n in RFAD) + ' |')
    lines += [
        '',
        'Exact KIP costs O(|S| (|S| + |T|)) kernel entries per step, each a covariance '
        'recursion through the network; RFAD costs O(|S| + |T|) network passes, so the '
        'speedup grows with the support size. The RFAD paper\'s "at least 100-fold" is a GPU '
        'figure, where convolutions run far nearer peak than the exact kernel\'s elementwise '
        'recursions; this table is the CPU\'s.',
    ]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=2,
                        help='timed exact-KIP steps per size (RFAD: at least 5)')
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    args = parser.parse_args(argv)
    result = {'machine': machine(), 'repeats': args.repeats, 'rows': []}
    path = os.path.join(args.results, f'rfad_step_time_{device_tag(jax.devices()[0])}')
    for support, targets in SIZES:
        result['rows'].append(measure(support, targets, args.repeats))
        # Written after each size: a run stopped at its time limit keeps what it measured.
        write_results(path, result, markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
