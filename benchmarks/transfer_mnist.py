"""Benchmark: Keras ConvNet trained on the published kip_mnist set vs a random real subset.

Publishes a KIP distilled MNIST set (a `tfkip distill` artifact) as the TFDS dataset
`kip_mnist/<config>`, loads it back with `tfds.load`, trains the finite-width Keras ConvNet on
it, and trains the same model with the same protocol on random class-balanced real subsets of
the same size (a new subset per seed), both tested on the 10,000 real MNIST test images
(whitened by the published set's `ZCAWhitening` layer). Writes `results/transfer_mnist.{json,md}`.

    tfkip distill --source .data/mnist --ipc 10 --depth 3 --steps 20000 --learning-rate 0.04 \
        --lr-schedule cosine --target-batch-size 2000 --no-learn-labels \
        --out runs/mnist_fc_fixedlabels_ipc10/distilled
    python benchmarks/transfer_mnist.py \
        --artifact runs/mnist_fc_fixedlabels_ipc10/distilled.npz --config fc_fixedlabels_ipc10

The set is made with the FC kernel: KIP with the ConvNet kernel does not run on a 2-core CPU
in useful time with neural-tangents' kernels (a single step of a depth-2 ConvNet KIP on MNIST
took over 4 minutes); the fast ConvNet kernel is issue 7.
"""
import argparse
import dataclasses
import json
import os
import platform
import sys
import time

from tfkip._tf import tf

tf()  # TF is shown no GPU (tfkip's data rule), so Keras trains on the CPU here

import numpy as np  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402

from tfkip import artifacts, sources  # noqa: E402
from tfkip._io import write_text  # noqa: E402
from tfkip.distill.krr import centered_one_hot  # noqa: E402
from tfkip.distill.sampling import ClassIndex  # noqa: E402
from tfkip.publish import publish  # noqa: E402
from tfkip.transfer import TransferConfig, ZCAWhitening, train_and_evaluate  # noqa: E402

from _machine import cpu_name  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = TransferConfig()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--artifact', default='runs/mnist_fc_fixedlabels_ipc10/distilled.npz',
                        help='KIP artifact to publish (default: %(default)s)')
    parser.add_argument('--config', default='fc_fixedlabels_ipc10',
                        help='kip_mnist builder config it fits (default: %(default)s)')
    parser.add_argument('--data', default='.data/mnist',
                        help='extracted MNIST ImageFolder (default: %(default)s)')
    parser.add_argument('--data-dir', default='runs/tfds',
                        help='TFDS data_dir to publish into (default: %(default)s)')
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    args = parser.parse_args(argv)

    publish(args.artifact, 'kip_mnist', args.config, args.data_dir)
    name = f'kip_mnist/{args.config}'
    builder = tfds.builder(name, data_dir=args.data_dir)
    rows = tfds.as_numpy(builder.as_dataset('train', batch_size=-1))
    images, soft_labels = rows['image'], rows['soft_label']
    whitening = ZCAWhitening.from_stats(builder.info.metadata.stats)
    ipc = len(images) // soft_labels.shape[1]
    train, test = sources.load(args.data, 'train'), sources.load(args.data, 'test')

    def log(what):
        return lambda seed, acc: print(f'{what} seed {seed}: {100 * acc:.2f}%', flush=True)

    start = time.time()
    kip = train_and_evaluate(CONFIG, images, soft_labels, test.images, test.labels,
                             whitening=whitening, progress=log(name))
    kip_s = time.time() - start
    random_runs = []
    for seed in CONFIG.seeds:  # a new real subset per seed, same protocol
        idx = ClassIndex(train.labels, train.num_classes).sample(ipc, np.random.default_rng(seed))
        subset = np.asarray(whitening(train.images[idx]))
        random_runs.append(train_and_evaluate(
            dataclasses.replace(CONFIG, seeds=(seed,)), subset,
            np.asarray(centered_one_hot(train.labels[idx], train.num_classes)),
            test.images, test.labels, whitening=whitening, progress=log('random subset')))
    accs = [r['accuracies'][0] for r in random_runs]
    random = {'accuracies': accs, 'mean': float(np.mean(accs)), 'std': float(np.std(accs))}
    meta = artifacts.load(args.artifact).metadata
    cpu = cpu_name()
    import keras
    result = {
        'machine': {'cpu': cpu, 'cores': os.cpu_count(), 'python': platform.python_version(),
                    'keras': keras.__version__, 'backend': keras.backend.backend(),
                    'tensorflow': tf().__version__},
        'date': time.strftime('%Y-%m-%d'), 'dataset': name, 'images_per_class': ipc,
        'artifact': args.artifact, 'artifact_krr_accuracy': meta['metrics']['accuracy'],
        'kip_kernel': meta['config']['kernel'], 'kip_steps': meta['steps'],
        'transfer_config': dataclasses.asdict(CONFIG), 'kip': kip, 'random_subset': random,
        'kip_wall_time_s': kip_s, 'kip_beats_random': kip['mean'] > random['mean']}
    os.makedirs(args.results, exist_ok=True)
    write_text(os.path.join(args.results, 'transfer_mnist.json'), json.dumps(result, indent=2) + '\n')
    write_text(os.path.join(args.results, 'transfer_mnist.md'), markdown(result))
    print(markdown(result))
    return 0 if result['kip_beats_random'] else 1


def markdown(r):
    c, m = r['transfer_config'], r['machine']

    def cell(x):
        return (f'**{100 * x["mean"]:.2f}% ± {100 * x["std"]:.2f}**'
                f' ({", ".join(f"{100 * a:.2f}" for a in x["accuracies"])})')
    return '\n'.join([
        '# Finite-width transfer on MNIST: Keras ConvNet trained on 10 images/class',
        '',
        f'Machine: {m["cpu"]}, {m["cores"]} cores; Keras {m["keras"]} ({m["backend"]} backend), '
        f'TensorFlow {m["tensorflow"]}, CPU. {r["date"]}. Written by `benchmarks/transfer_mnist.py`.',
        f'Model: ConvNet depth {c["depth"]}, width {c["width"]}, normalization {c["normalization"]}, '
        f'{c["pooling"]} pooling; {c["loss"]} loss on the soft labels, {c["optimizer"]} lr '
        f'{c["learning_rate"]} {c["schedule"]}, {c["steps"]} full-batch steps; seeds {c["seeds"]}. '
        'Test: all 10,000 real MNIST test images, whitened by the published set\'s layer.',
        f'Distilled set: `{r["dataset"]}` loaded with `tfds.load` after `tfkip publish`, made by KIP '
        f'with the FC depth-{r["kip_kernel"]["depth"]} {r["kip_kernel"]["kernel"].upper()} kernel, '
        f'{r["kip_steps"]} steps (its KRR test accuracy: {100 * r["artifact_krr_accuracy"]:.2f}%).',
        '',
        '| training set (10 images/class) | test accuracy, mean ± std over seeds (each seed) |',
        '|---|---|',
        f'| KIP distilled (`{r["dataset"]}`) | {cell(r["kip"])} |',
        f'| random real subset (new subset per seed), labels one-hot - 1/C | {cell(r["random_subset"])} |',
        '',
        f'Distilled set beats the random subset: {"yes" if r["kip_beats_random"] else "NO"}.',
        '']) + '\n'


if __name__ == '__main__':
    sys.exit(main())
