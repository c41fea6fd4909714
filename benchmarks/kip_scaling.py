"""Benchmark: KIP steps per second on 1, 2, 4 and 8 devices (sharded KIP, issue 6).

One process, one mesh per device count (the first N devices), the same KIP problem on
each: the FC kernel at MNIST size (100 support images, 1,000 targets per step) and the
exact ConvNet kernel (fast implementation; 10 support images, 32 targets, 28x28x1, depth
3). On the CPU the devices are XLA's fake host devices
(--xla_force_host_platform_device_count=8), which share the machine's cores: the figures
show what sharding costs there, not a speedup. Where JAX sees GPUs or TPUs, the script uses
them instead (powers of two up to their count).

    python benchmarks/kip_scaling.py

Writes results/kip_scaling_<device>.{json,md} (`cpu`, or the accelerator's kind). Medians of --repeats timings of 20 (FC) or
3 (ConvNet) steps each, after a compiled warm-up step.
"""
import argparse
import os
import sys

os.environ.setdefault('XLA_FLAGS', '')
if 'xla_force_host_platform_device_count' not in os.environ['XLA_FLAGS']:
    os.environ['XLA_FLAGS'] += ' --xla_force_host_platform_device_count=8'

from tfkip._runtime import configure_xla_cpu  # noqa: E402

configure_xla_cpu()


import jax  # noqa: E402

from tfkip.distill import distributed, step_kernels  # noqa: E402
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn  # noqa: E402

from _common import device_name, device_tag, machine, write_results  # noqa: E402
from _timing import step_rate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# kernel, support images, targets per step, steps per timing.
PROBLEMS = {
    'fc': (KernelConfig('fc', depth=3), 100, 1000, 20),
    'convnet': (KernelConfig('convnet', depth=3), 10, 32, 3),
}


def rate(config, support, targets, mesh, steps, repeats):
    """Median steps per second of an MNIST-sized KIP step on `mesh` (None: unsharded)."""
    return step_rate(step_kernels.exact(make_kernel_fn(config)), config.initial_hparams(),
                     support, targets, (28, 28, 1), mesh=mesh, steps=steps, repeats=repeats)


def markdown(result):
    info = result['machine']
    lines = [
        '# Sharded KIP: steps per second against the device count',
        '',
        '"unsharded step": `kip(...)` without a mesh, for the cost of the sharded path itself '
        'on one device. Speedup: the largest device count against 1 device.',
        '',
        f'Machine: {info["cpu"]}, {info["cores"]} cores; JAX {info["jax"]}; devices: '
        f'{len(info["devices"])} x {device_name(info, result["platform"])}. Written by '
        f'`benchmarks/kip_scaling.py`; medians of {result["repeats"]} timings (of the '
        'steps in the table) per cell, one run.',
        '',
        '| kernel | support | targets/step | steps/timing | unsharded step | ' + ' | '.join(
            f'{n} device(s)' for n in result['sizes']) + ' | speedup at '
        f'{result["sizes"][-1]} |',
        '|---|---|---|---|---|' + '---|' * len(result['sizes']) + '---|',
    ]
    for name, row in result['rows'].items():
        rates = [row['steps_per_s'][str(n)] for n in result['sizes']]
        lines.append(f'| {name} | {row["support"]} | {row["targets"]} | '
                     f'{row["steps_per_timing"]} | '
                     f'{row["unsharded_steps_per_s"]:.2f} steps/s | ' + ' | '.join(f'{r:.2f} steps/s' for r in rates)
                     + f' | {rates[-1] / rates[0]:.2f}x |')
    if result['platform'] == 'cpu':
        lines += ['', f'The devices are XLA\'s fake CPU devices, all sharing the machine\'s '
                  f'{info["cores"]} cores, so more devices cannot run faster here: the figures '
                  'measure the cost of splitting a step (collectives, padding, smaller '
                  'blocks, more programs sharing the cores). On GPUs or TPUs each device brings '
                  'its own compute; that speedup is not measured here (no GPU was available '
                  'to this run).']
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=3, help='timings per device count')
    parser.add_argument('--kernels', nargs='+', choices=sorted(PROBLEMS),
                        default=sorted(PROBLEMS))
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    args = parser.parse_args(argv)
    devices = jax.devices()
    platform = devices[0].platform
    sizes = [n for n in (1, 2, 4, 8, 16, 32) if n <= len(devices)]
    result = {'machine': machine(), 'platform': platform, 'sizes': sizes,
              'repeats': args.repeats, 'rows': {}}
    for name in args.kernels:
        config, support, targets, steps = PROBLEMS[name]
        row = {'support': support, 'targets': targets, 'steps_per_timing': steps,
               'steps_per_s': {}, 'timings': {}}
        row['unsharded_steps_per_s'], row['unsharded_timings'] = rate(
            config, support, targets, None, steps, args.repeats)
        print(f'{name}: unsharded: {row["unsharded_steps_per_s"]:.2f} steps/s', flush=True)
        for n in sizes:
            median, timings = rate(config, support, targets,
                                   distributed.target_mesh(devices[:n]), steps,
                                   args.repeats)
            row['steps_per_s'][str(n)], row['timings'][str(n)] = median, timings
            print(f'{name}: {n} device(s): {median:.2f} steps/s', flush=True)
        result['rows'][name] = row
    write_results(os.path.join(args.results, f'kip_scaling_{device_tag(devices[0])}'), result,
                  markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
