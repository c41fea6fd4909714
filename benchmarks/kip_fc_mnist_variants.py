"""Benchmark: one KIP-FC variant on real MNIST, for the search behind the 50 images/class row.

`kip_mnist.py` runs the project's chosen KIP-FC settings; this script runs one variant of
them (kernel, depth, per-image normalization, steps, target batch, learning rate, ...) and
prints one `RESULT` line: the options, the final KRR metrics on all 10,000 test images, the
accuracy before the final Label Solve (when run), the wall time, the held-out curve (2,000
test images) and the final kernel hyperparameters. The variants tried for issue 2 and their
lines are in `results/kip_fc_mnist_variants.md`.

    python benchmarks/kip_fc_mnist_variants.py --data .data/mnist --steps 4000 --depth 4
"""
import argparse
import time

from tfkip._runtime import configure_xla_cpu

configure_xla_cpu()  # before JAX starts its CPU backend

from tfkip import preprocess, sources  # noqa: E402
from tfkip.distill.train import DistillConfig, distill  # noqa: E402
from tfkip.kernels.kernel import KernelConfig  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='.data/mnist',
                        help='extracted MNIST ImageFolder (default: %(default)s)')
    parser.add_argument('--kernel', default='ntk', choices=('ntk', 'nngp'),
                        help='FC kernel (default: %(default)s)')
    parser.add_argument('--depth', type=int, default=3, help='hidden layers (default: 3)')
    parser.add_argument('--norm', action='store_true',
                        help='per-image normalization after standardization')
    parser.add_argument('--steps', type=int, default=12000, help='KIP steps (default: 12000)')
    parser.add_argument('--T', type=int, default=1000, help='target batch (default: 1000)')
    parser.add_argument('--lr', type=float, default=0.04,
                        help='peak Adam learning rate, cosine decay (default: 0.04)')
    parser.add_argument('--ipc', type=int, default=50, help='images per class (default: 50)')
    parser.add_argument('--hp', action='store_true', help="learn the kernel's W_std, b_std")
    parser.add_argument('--ls', action='store_true', help='final Label Solve over all train')
    parser.add_argument('--eval_every', type=int, default=2000,
                        help='steps between held-out evaluations (default: 2000)')
    parser.add_argument('--b', type=float, default=0.1, help='initial b_std (default: 0.1)')
    parser.add_argument('--seed', type=int, default=0, help='seed (default: 0)')
    parser.add_argument('--block_size', type=int, default=None,
                        help='kernel blocks of at most block_size**2 pairs (default: the '
                             "kernel's, one block at these sizes; kip_mnist.py's 50/class "
                             'row uses 250)')
    a = parser.parse_args(argv)
    train, test = sources.load(a.data, 'train'), sources.load(a.data, 'test')
    stats = preprocess.fit(preprocess.PreprocessConfig(zca=False, per_image_norm=a.norm), train)
    train, test = preprocess.transform(stats, train), preprocess.transform(stats, test)
    config = DistillConfig(
        KernelConfig('fc', depth=a.depth, kernel=a.kernel, b_std=a.b, block_size=a.block_size),
        images_per_class=a.ipc, steps=a.steps, learning_rate=a.lr, lr_schedule='cosine',
        target_batch_size=a.T, eval_every=a.eval_every, learn_hparams=a.hp,
        final_label_solve=a.ls, seed=a.seed)
    start = time.time()
    metadata = distill(config, train, eval_data=test).metadata
    wall = time.time() - start
    print('RESULT', vars(a), metadata.metrics,
          (metadata.get('metrics_before_label_solve') or {}).get('accuracy'), f'{wall:.0f}s',
          [(h['step'], h['eval_accuracy']) for h in metadata.history],
          metadata.get('hparams'), flush=True)


if __name__ == '__main__':
    main()
