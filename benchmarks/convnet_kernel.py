"""Benchmark: the fast ConvNet kernel (`tfkip.kernels.convnet_fast`) vs neural-tangents.

Computes the same depth-3 ConvNet NTK and NNGP matrices of 32x32x3 images (float32, random
normal inputs, the paper's W_std = sqrt(2), b_std = 0.1) with both implementations through
`make_kernel_fn`, each with its default blocking, and reports kernel entries (image pairs)
per second for the matrix and for its gradient with respect to the second set of images (what
a KIP step needs), the ratio, peak memory, and the largest difference between the two on the
pairs both computed. Each (implementation, kernel) runs in its own process so that peak
memory (resident set on CPU, device peak on an accelerator) is its own. Writes
`results/convnet_kernel_<device>.{json,md}` (`cpu`, or the accelerator's kind, e.g.
`nvidia_h200`).

    python benchmarks/convnet_kernel.py            # CPU-sized problem
    python benchmarks/convnet_kernel.py --fast-images 256 --nt-images 32   # on a GPU
"""
import argparse
import json
import os
import platform
import resource
import sys
import time

from _common import cpu_name, device_name, device_tag, run_json, write_results

HERE = os.path.dirname(os.path.abspath(__file__))
IMPLEMENTATIONS = ('neural_tangents', 'fast')
KERNELS = ('ntk', 'nngp')


def worker(implementation, kernel, images, repeats):
    """Times one implementation; prints one JSON line."""
    from tfkip import configure_xla_cpu
    configure_xla_cpu()
    import jax
    import jax.numpy as jnp
    import numpy as np

    from tfkip.kernels.kernel import KernelConfig, make_kernel_fn
    config = KernelConfig('convnet', depth=3, kernel=kernel, implementation=implementation)
    hparams = config.initial_hparams()
    fn = make_kernel_fn(config)
    # One generator per set, so that both implementations see the same first images.
    x1, x2 = (jnp.asarray(np.random.default_rng(seed).normal(size=(images, 32, 32, 3)),
                          jnp.float32) for seed in (1, 2))
    value = jax.jit(lambda a, b: fn(a, b, hparams))
    # The fast kernel's gradient is of the same N x N matrix, so that its time over the
    # forward pass's is the cost of differentiating. neural-tangents' is of N/2 x N/2: its
    # 8x8 gradient crashes XLA:CPU (jaxlib 0.10.2, segfault), a bug outside tfkip.
    rows = images if implementation == 'fast' else max(1, images // 2)
    grad = jax.jit(jax.grad(lambda b: jnp.sum(fn(x1[:rows], b, hparams))))

    def timed(f, *args):
        jax.block_until_ready(f(*args))  # compile
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(f(*args))
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    matrix_s = timed(value, x1, x2)
    grad_s = timed(grad, x2[:rows])
    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != 'cpu' else None
    peak = (stats['peak_bytes_in_use'] if stats and 'peak_bytes_in_use' in stats
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    print(json.dumps({
        'implementation': implementation, 'kernel': kernel, 'images': images,
        'matrix_s': matrix_s, 'entries_per_s': images ** 2 / matrix_s,
        'grad_s': grad_s, 'grad_images': rows, 'grad_entries_per_s': rows ** 2 / grad_s,
        'peak_bytes': int(peak), 'peak_kind': 'device' if stats else 'resident set',
        'block': np.asarray(value(x1[:4], x2[:4]), np.float64).tolist(),
        'device': str(device), 'device_kind': device.device_kind,
        'platform': device.platform, 'tag': device_tag(device),
        'jax': jax.__version__}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--nt-images', type=int, default=8,
                        help='N for the N x N neural-tangents matrix (default: %(default)s)')
    parser.add_argument('--fast-images', type=int, default=32,
                        help='N for the N x N fast matrix (default: %(default)s)')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed runs after the compiling one; median (default: %(default)s)')
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    parser.add_argument('--worker', nargs=3, metavar=('IMPL', 'KERNEL', 'IMAGES'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]), args.repeats)
        return 0

    runs = {}
    for kernel in KERNELS:
        for implementation in IMPLEMENTATIONS:
            images = args.nt_images if implementation == 'neural_tangents' else args.fast_images
            print(f'{implementation} {kernel}: {images}x{images} ...', flush=True)
            runs[implementation, kernel] = run_json(
                __file__, ['--worker', implementation, kernel, images, '--repeats', args.repeats])
            print(f'  {runs[implementation, kernel]["entries_per_s"]:.1f} entries/s', flush=True)

    import numpy as np
    rows = []
    for kernel in KERNELS:
        nt, fast = runs['neural_tangents', kernel], runs['fast', kernel]
        ref, got = np.asarray(nt['block']), np.asarray(fast['block'])
        rows.append({
            'kernel': kernel, 'neural_tangents': nt, 'fast': fast,
            'speedup': fast['entries_per_s'] / nt['entries_per_s'],
            'grad_speedup': fast['grad_entries_per_s'] / nt['grad_entries_per_s'],
            'max_relative_difference': float(np.abs(got - ref).max() / np.abs(ref).max())})
    result = {'machine': _machine(runs['fast', 'ntk']), 'date': time.strftime('%Y-%m-%d'),
              'problem': 'depth-3 ConvNet (Flatten readout), 32x32x3 inputs, float32',
              'rows': rows}
    write_results(os.path.join(args.results, f'convnet_kernel_{runs["fast", "ntk"]["tag"]}'),
                  result, markdown(result))
    return 0


def _machine(run):
    return {'device': run['device'], 'device_kind': run['device_kind'], 'jax': run['jax'],
            'cores': os.cpu_count(),
            'python': platform.python_version(), 'cpu': cpu_name()}


def _ratio(run):
    """Gradient time over forward time, per entry where the two matrices differ in size."""
    ratio, rows = run['entries_per_s'] / run['grad_entries_per_s'], run['grad_images']
    return f'{ratio:.1f}x' + ('' if rows == run['images'] else f' ({rows}x{rows})')


def markdown(r):
    m = r['machine']
    lines = [
        '# Fast ConvNet kernel vs neural-tangents',
        '',
        f'Machine: {m["cpu"]}, {m["cores"]} cores; JAX {m["jax"]} on '
        f'`{device_name(m, m["device"])}`. '
        f'{r["date"]}. Written by `benchmarks/convnet_kernel.py`.',
        f'Problem: {r["problem"]}; W_std = sqrt(2), b_std = 0.1. Entries are image pairs; '
        'each implementation uses its default blocking; medians of the timed runs after '
        'compilation. Gradient: of sum(K(x1, x2)) with respect to x2 (a KIP step\'s shape), '
        'of the same matrix for the fast kernel (its cost over the forward pass), of a half-size '
        'one for neural-tangents (its full-size gradient crashes XLA:CPU).',
        '',
        '| kernel | implementation | matrix | entries/s | gradient entries/s | '
        'gradient / forward time | peak memory |',
        '|---|---|---|---|---|---|---|']
    for row in r['rows']:
        for name in IMPLEMENTATIONS:
            run = row[name]
            lines.append(
                f'| {row["kernel"].upper()} | {name} | {run["images"]}x{run["images"]} | '
                f'{run["entries_per_s"]:.1f} | {run["grad_entries_per_s"]:.1f} | '
                f'{_ratio(run)} | '
                f'{run["peak_bytes"] / 2 ** 30:.2f} GiB ({run["peak_kind"]}) |')
    lines += ['', '| kernel | speedup (matrix) | speedup (gradient) | max relative difference |',
              '|---|---|---|---|']
    for row in r['rows']:
        lines.append(f'| {row["kernel"].upper()} | **{row["speedup"]:.1f}x** | '
                     f'{row["grad_speedup"]:.1f}x | {row["max_relative_difference"]:.1e} |')
    return '\n'.join(lines + ['']) + '\n'


if __name__ == '__main__':
    sys.exit(main())
