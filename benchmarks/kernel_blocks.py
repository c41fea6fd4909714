"""Benchmark: the exact-KIP step's compile and step time against the kernel's block size.

On the H200 the exact-KIP step at 100 support images and 100 targets (32x32x3, depth-3
ConvNet NNGP) did not finish compiling in 140 s (results/accelerator_check_nvidia_h200.md),
while at 10 support images it ran in 0.01 s. At 100 images the kernel matrices pass the
pairs a block holds and are assembled from blocks (`tfkip.kernels.blocks.blocked`: nested
`lax.map` under `jax.checkpoint`). This measures, each case in a fresh process under a time
limit, how long the step takes to compile and to run with the block `pairs_per_block` chose
("auto": then a quarter of an accelerator's memory) and with capped ones
(`KernelConfig.block_size`), and with XLA's GPU autotuning off. From its H200 table the
library caps an accelerator's blocks at 256 pairs, so "auto" now runs the 16x16 case.

    python benchmarks/kernel_blocks.py [--limit SECONDS]

Writes results/kernel_blocks_<device>.{json,md} (`cpu`, or the accelerator's kind) after
each case, so a run stopped at its limit keeps the cases it measured.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = (32, 32, 3)
# (name, support images, targets per step, block_size (None: auto), extra XLA flags), in
# the order they run: the cheap and the likely fast first, the case that hung last.
OFF = '--xla_gpu_autotune_level=0'
CASES = (
    ('S=10, blocked (8x8 pairs)', 10, 100, 8, ''),
    ('S=100, 16x16 pairs', 100, 100, 16, ''),
    ('S=100, 32x32 pairs', 100, 100, 32, ''),
    ('S=100, auto, autotune off', 100, 100, None, OFF),
    ('S=100, auto', 100, 100, None, ''),
    ('S=100, 8x8 pairs', 100, 100, 8, ''),
    ('S=100, 16x16 pairs, autotune off', 100, 100, 16, OFF),
    ('S=100, 32x32 pairs, autotune off', 100, 100, 32, OFF),
    ('S=100, T=500, 16x16 pairs, autotune off', 100, 500, 16, OFF),
    ('S=100, auto, capped at 256 pairs', 100, 100, None, ''),
)


def case(support, targets, block_size, repeats):
    """{'compile_s', 'step_s', 'max_pairs', 'peak_bytes', ...} of one exact-KIP step (this
    process)."""
    from tfkip._runtime import configure_xla_cpu
    configure_xla_cpu()
    import jax
    import numpy as np
    from tfkip.distill import step_kernels
    from tfkip.kernels.convnet_fast import Plan, pairs_per_block
    from tfkip.kernels.kernel import KernelConfig, make_kernel_fn
    from _timing import step_rate
    config = KernelConfig('convnet', depth=3, kernel='nngp', block_size=block_size)
    plan = Plan.make(SHAPE[:2], config.depth)
    start = time.perf_counter()
    # step_rate's warm-up step compiles; its timings follow it.
    rate, timings = step_rate(step_kernels.exact(make_kernel_fn(config)),
                              config.initial_hparams(), support, targets, SHAPE,
                              repeats=repeats)
    total = time.perf_counter() - start
    device = jax.devices()[0]
    # The warm-up step is compile and one run: less the timed steps, less one more.
    return {'compile_s': total - sum(1 / t for t in timings) - 1 / rate, 'step_s': 1 / rate,
            'max_pairs': block_size ** 2 if block_size else pairs_per_block(plan, 4),
            'device': str(device), 'repeats': repeats,
            'peak_bytes': (device.memory_stats() or {}).get('peak_bytes_in_use'),
            'numpy': np.__version__}


def markdown(result):
    from _common import device_name
    info = result['machine']
    lines = [
        '# The exact-KIP step against the kernel\'s block size',
        '',
        f'Machine: {info["cpu"]}, {info["cores"]} cores; JAX {info["jax"]} on '
        f'{device_name(info, info["devices"][0])}. Written by `benchmarks/kernel_blocks.py`; '
        'each case in a fresh process under a time limit; compile: the time to the end of '
        'the warm-up step less one step; step: the median of the timed steps.',
        '',
        'One step: the exact depth-3 ConvNet NNGP of 32x32x3 images, KRR solve, loss, '
        'gradient with respect to the support images and labels, Adam update (as in '
        '`rfad_step_time.py`). Blocks: the kernel is assembled from blocks of at most this '
        'many image pairs where the support x (support + targets) pairs exceed it; "auto": '
        "`pairs_per_block`'s choice when the case ran (a quarter of the memory until this "
        'table capped it at 256 pairs).',
        '',
        '| case | support | targets | pairs/block | compile | step | peak memory |',
        '|---|---|---|---|---|---|---|',
    ]
    for row in result['cases']:
        if 'step_s' in row:
            peak = f'{row["peak_bytes"] / 2 ** 30:.1f} GiB' if row.get('peak_bytes') else '-'
            lines.append(f'| {row["name"]} | {row["support"]} | {row["targets"]} | '
                         f'{row["max_pairs"]} | {row["compile_s"]:.1f} s | '
                         f'{row["step_s"]:.3f} s | {peak} |')
        else:
            lines.append(f'| {row["name"]} | {row["support"]} | {row["targets"]} | - | '
                         f'{row["error"]} | - | - |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--limit', type=int, default=90, help='seconds each case may take '
                        '(default: %(default)s)')
    parser.add_argument('--repeats', type=int, default=3, help='timed steps per case')
    parser.add_argument('--cases', type=int, nargs='+', default=range(len(CASES)),
                        metavar='N', help='the cases to run, by their index in CASES (default: '
                        'all); a result file keeps the cases measured before')
    parser.add_argument('--case', type=int, help=argparse.SUPPRESS)  # the child's case
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    args = parser.parse_args(argv)
    if args.case is not None:
        _, support, targets, block_size, _ = CASES[args.case]
        print(json.dumps(case(support, targets, block_size, args.repeats)), flush=True)
        return 0
    from tfkip._runtime import configure_xla_cpu
    configure_xla_cpu()
    import jax
    from _common import device_tag, machine, write_results
    path = os.path.join(args.results, f'kernel_blocks_{device_tag(jax.devices()[0])}')
    result = {'machine': machine(), 'cases': []}
    if os.path.exists(path + '.json'):  # earlier runs' cases, those run again replaced
        result['cases'] = json.load(open(path + '.json'))['cases']
    for index in args.cases:
        name, support, targets, block_size, flags = CASES[index]
        row = {'name': name, 'support': support, 'targets': targets,
               'block_size': block_size, 'xla_flags': flags}
        env = dict(os.environ, XLA_FLAGS=f'{os.environ.get("XLA_FLAGS", "")} {flags}'.strip())
        print(f'== {name}', flush=True)
        try:
            done = subprocess.run([sys.executable, __file__, '--case', str(index),
                                   '--repeats', str(args.repeats)], cwd=HERE, env=env,
                                  capture_output=True, text=True, timeout=args.limit)
            if done.returncode:
                tail = done.stderr.strip().splitlines()[-1:] or ['no output']
                row['error'] = f'failed (status {done.returncode}): {tail[0][:120]}'
            else:
                row.update(json.loads(done.stdout.strip().splitlines()[-1]))
        except subprocess.TimeoutExpired:
            row['error'] = f'not done in {args.limit} s'
        print(f'   {row}', flush=True)
        result['cases'] = [r for r in result['cases'] if r['name'] != name] + [row]
        write_results(path, result, markdown(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
