"""A few KIP steps in a fresh process, for tests/test_distributed.py: the fake CPU device
count and JAX's distributed runtime must be set before JAX starts, so they cannot be set
inside the pytest process.

    python tests/kip_worker.py --devices 8 --mesh 1 8 --out result.json
    JAX_COORDINATOR_ADDRESS=... JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=i \\
        python tests/kip_worker.py --devices 2 --out result.json

Writes {kernel: {mesh size: {'losses': [...], 'images': [...], 'labels': [...]}}} from
process 0 (the only process that writes, as in `distill`).
"""
import argparse
import json
import os

# name: (KernelConfig options, DistillConfig options)
KERNELS = {
    'fc': (dict(architecture='fc', depth=2), {}),
    'fc_neural_tangents': (dict(architecture='fc', depth=2, implementation='neural_tangents'),
                           {}),
    'convnet': (dict(architecture='convnet', depth=1), {}),
    'rfad_convnet': (dict(architecture='convnet', depth=1, kernel='nngp'),
                     dict(method='rfad', loss='platt', options={'rf_models': 2, 'rf_width': 8})),
    'frepo': (dict(architecture='convnet', depth=1),
              dict(method='frepo', options={'frepo_models': 2, 'frepo_reset': 3,
                                            'frepo_width': 8, 'frepo_depth': 1})),
    'dm': (dict(architecture='convnet', depth=1),
           dict(method='dm', learn_labels=False, options={'dm_width': 8, 'dm_depth': 1})),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--devices', type=int, default=1, help='fake CPU devices per process')
    parser.add_argument('--mesh', type=int, nargs='*',
                        help='mesh sizes to run (the first N devices; default: all devices)')
    parser.add_argument('--kernels', nargs='+', default=['fc'], choices=sorted(KERNELS))
    parser.add_argument('--workdir', help='checkpoint directory')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    os.environ['XLA_FLAGS'] = f'--xla_force_host_platform_device_count={args.devices}'

    from tfkip.distill import distributed
    distributed.initialize()  # from JAX_COORDINATOR_ADDRESS etc., when set
    import jax
    import numpy as np
    from tfkip.distill.train import DistillConfig, distill
    from tfkip.kernels.kernel import KernelConfig
    from tfkip.sources.dataset import LabeledImages

    rng = np.random.default_rng(0)
    labels = np.arange(90) % 3
    images = (rng.normal(size=(90, 8, 8, 1)) + labels[:, None, None, None]).astype(np.float32)
    train = LabeledImages(images, labels, ('a', 'b', 'c'), 'worker data')
    results = {}
    for name in args.kernels:
        # 5 support images per class (15: not a multiple of 2, 4 or 8) and 21 targets per
        # step (padded to the device count), so uneven splits are exercised.
        kernel, options = KERNELS[name]
        config = DistillConfig(KernelConfig(**kernel), images_per_class=5, steps=4,
                               learning_rate=0.05, target_batch_size=21, eval_every=0,
                               log_every=1, checkpoint_every=2, **options)
        results[name] = {}
        for size in args.mesh or [len(jax.devices())]:
            mesh = distributed.target_mesh(jax.devices()[:size])
            workdir = args.workdir and os.path.join(args.workdir, f'{name}_{size}')
            result = distill(config, train, mesh=mesh, workdir=workdir, progress=False,
                             log=lambda _: None)
            results[name][size] = {'losses': [r['loss'] for r in result.metadata.losses],
                                   'images': result.images.tolist(),
                                   'labels': result.labels.tolist()}
    if distributed.is_writer():
        with open(args.out, 'w') as f:
            json.dump(results, f)


if __name__ == '__main__':
    main()
