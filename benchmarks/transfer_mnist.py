"""Benchmark: Keras ConvNet trained on the published kip_mnist set vs real subsets.

Publishes a KIP distilled MNIST set (a `tfkip distill` artifact) as the TFDS dataset
`kip_mnist/<config>`, loads it back with `tfds.load`, trains the finite-width Keras ConvNet on
it, and trains the same model with the same protocol on (a) the real images KIP started from,
with one-hot labels, and (b) random class-balanced real subsets of the same size (a new subset
per seed), all tested on the 10,000 real MNIST test images (whitened by the published set's
`ZCAWhitening` layer). `--compare` adds rows for other artifacts of the same data, read from
their files (e.g. the same recipe run for more steps). Writes `results/transfer_mnist.{json,md}`.

    for n in 300 1000 3000; do
      tfkip distill --source .data/mnist --ipc 10 --depth 3 --steps $n --learning-rate 0.01 \
          --target-batch-size 2000 --no-learn-labels --eval-every 0 \
          --out runs/mnist_fc_fixedlabels_ipc10_s$n/distilled
    done
    python benchmarks/transfer_mnist.py \
        --artifact runs/mnist_fc_fixedlabels_ipc10_s300/distilled.npz --config fc_fixedlabels_ipc10 \
        --compare runs/mnist_fc_fixedlabels_ipc10_s1000/distilled.npz \
        --compare runs/mnist_fc_fixedlabels_ipc10_s3000/distilled.npz

The sets are made with the FC kernel, which runs KIP on a 2-core CPU in seconds per hundred
steps. KIP-FC images move away from natural images as training goes on: the KRR accuracy keeps
rising while the finite ConvNet's accuracy on them falls, which the `--compare` rows show.

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

from tfkip import sources  # noqa: E402
from tfkip.formats import distilled_set  # noqa: E402
from tfkip._io import write_text  # noqa: E402
from tfkip.distill.krr import centered_one_hot  # noqa: E402
from tfkip.distill.sampling import SUPPORT_STREAM, ClassIndex, rng  # noqa: E402
from tfkip.publish import publish  # noqa: E402
from tfkip.transfer import TransferConfig, ZCAWhitening, train_and_evaluate  # noqa: E402

from _machine import cpu_name  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = TransferConfig()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--artifact', default='runs/mnist_fc_fixedlabels_ipc10_s300/distilled.npz',
                        help='KIP artifact to publish (default: %(default)s)')
    parser.add_argument('--config', default='fc_fixedlabels_ipc10',
                        help='kip_mnist builder config it fits (default: %(default)s)')
    parser.add_argument('--compare', action='append', default=[], metavar='ARTIFACT',
                        help='another artifact of the same data to train on, read from its '
                             'file (repeatable)')
    parser.add_argument('--data', default='.data/mnist',
                        help='extracted MNIST ImageFolder (default: %(default)s)')
    parser.add_argument('--data-dir', default='runs/tfds',
                        help='TFDS data_dir to publish into (default: %(default)s)')
    parser.add_argument('--results', default=os.path.join(HERE, 'results'))
    args = parser.parse_args(argv)

    name, _ = publish(args.artifact, 'kip_mnist', args.config, args.data_dir)
    builder = tfds.builder(name, data_dir=args.data_dir)
    rows = tfds.as_numpy(builder.as_dataset('train', batch_size=-1))
    images, soft_labels = rows['image'], rows['soft_label']
    whitening = ZCAWhitening.from_stats(builder.info.metadata.stats)
    num_classes = soft_labels.shape[1]
    ipc = len(images) // num_classes
    train, test = sources.load(args.data, 'train'), sources.load(args.data, 'test')

    def run(what, images, labels, config=CONFIG):
        start = time.time()
        result = train_and_evaluate(
            config, images, labels, test.images, test.labels, whitening=whitening,
            progress=lambda seed, acc: print(f'{what} seed {seed}: {100 * acc:.2f}%', flush=True))
        return dict(result, wall_time_s=time.time() - start)

    def real_subset(idx):
        return (np.asarray(whitening(train.images[idx])),
                np.asarray(centered_one_hot(train.labels[idx], num_classes)))

    def described(path, result):
        meta = distilled_set.load(path).metadata
        return {'artifact': path, 'krr_accuracy': meta.metrics['accuracy'],
                'kernel': meta.config['kernel'], 'steps': meta.steps,
                'learning_rate': meta.config['learning_rate'],
                'lr_schedule': meta.config['lr_schedule'],
                'target_batch_size': meta.config['target_batch_size'], 'transfer': result}

    published = described(args.artifact, run(name, images, soft_labels))
    compared = []
    for path in args.compare:
        other = distilled_set.load(path)
        other.check_matches(images.shape[1:], num_classes, path)
        compared.append(described(path, run(path, np.asarray(other.images),
                                             np.asarray(other.labels))))
    # The real images KIP started from: what the KIP steps themselves changed.
    made = distilled_set.load(args.artifact).metadata.config
    start_idx = ClassIndex(train.labels, num_classes).sample(
        ipc, rng(made['seed'], SUPPORT_STREAM))
    starting = run('starting subset', *real_subset(start_idx))
    random_runs = []
    for seed in CONFIG.seeds:  # a new real subset per seed, same protocol
        idx = ClassIndex(train.labels, num_classes).sample(ipc, np.random.default_rng(seed))
        random_runs.append(run('random subset', *real_subset(idx),
                               config=dataclasses.replace(CONFIG, seeds=(seed,))))
    accs = [r['accuracies'][0] for r in random_runs]
    random = {'accuracies': accs, 'mean': float(np.mean(accs)), 'std': float(np.std(accs))}
    import keras
    result = {
        'machine': {'cpu': cpu_name(), 'cores': os.cpu_count(),
                    'python': platform.python_version(), 'keras': keras.__version__,
                    'backend': keras.backend.backend(), 'tensorflow': tf().__version__},
        'date': time.strftime('%Y-%m-%d'), 'dataset': name, 'images_per_class': ipc,
        'transfer_config': dataclasses.asdict(CONFIG), 'published': published,
        'compared': compared, 'starting_subset': starting, 'random_subset': random,
        'kip_beats_random': published['transfer']['mean'] > random['mean']}
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

    def kip_row(label, a):
        k = a['kernel']
        return (f'| {label} | {k["architecture"].upper()} depth {k["depth"]} '
                f'{k["kernel"].upper()}, {a["steps"]} steps, batch {a["target_batch_size"]}, '
                f'lr {a["learning_rate"]} {a["lr_schedule"]} | {100 * a["krr_accuracy"]:.2f}% | '
                f'{cell(a["transfer"])} |')
    ipc = r['images_per_class']
    return '\n'.join([
        f'# Finite-width transfer on MNIST: Keras ConvNet trained on {ipc} images/class',
        '',
        f'Machine: {m["cpu"]}, {m["cores"]} cores; Keras {m["keras"]} ({m["backend"]} backend), '
        f'TensorFlow {m["tensorflow"]}, CPU. {r["date"]}. Written by `benchmarks/transfer_mnist.py`.',
        f'Model: ConvNet depth {c["depth"]}, width {c["width"]}, normalization {c["normalization"]}, '
        f'{c["pooling"]} pooling; {c["loss"]} loss on the soft labels, {c["optimizer"]} lr '
        f'{c["learning_rate"]} {c["schedule"]}, {c["steps"]} full-batch steps; seeds {c["seeds"]}. '
        'Test: all 10,000 real MNIST test images, whitened by the published set\'s layer. '
        'KIP sets: fixed labels (one-hot - 1/C), support initialised from real images.',
        '',
        f'| training set ({ipc} images/class) | KIP | KRR test accuracy | Keras ConvNet test '
        'accuracy, mean ± std over seeds (each seed) |',
        '|---|---|---|---|',
        kip_row(f'published `{r["dataset"]}`, loaded with `tfds.load`', r['published']),
        *[kip_row(f'`{a["artifact"]}`', a) for a in r['compared']],
        f'| the real images KIP started from, one-hot - 1/C labels | none | | '
        f'{cell(r["starting_subset"])} |',
        f'| random real subset (new subset per seed), one-hot - 1/C labels | none | | '
        f'{cell(r["random_subset"])} |',
        '',
        f'Published distilled set beats the random subsets: '
        f'{"yes" if r["kip_beats_random"] else "NO"}.',
        '']) + '\n'


if __name__ == '__main__':
    sys.exit(main())
