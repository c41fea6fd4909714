"""Benchmark: which KIP loss learns faster per step for `kip_convnet.py`'s MNIST row, judged on
a validation split carved from the training set (the test split is never seen).

Runs `kip_convnet.py`'s MNIST config with each loss for a few steps at a constant learning
rate (a cosine over so few steps would be a different schedule) and records the KRR accuracy
on the held-out training images every --eval-every steps. Writes
`results/kip_convnet_pilot_<device>.{json,md}`.

    python benchmarks/kip_convnet_pilot.py --data .data/mnist
"""
import argparse
import dataclasses
import json
import os
import sys
import time

from kip_convnet import HERE, PREPROCESSING, RUNS, machine  # configures XLA before JAX starts

import jax  # noqa: E402
import numpy as np  # noqa: E402

from tfkip import preprocess, sources  # noqa: E402
from tfkip._io import write_text  # noqa: E402
from tfkip.distill.config import LOSSES  # noqa: E402
from tfkip.distill.train import distill  # noqa: E402
from tfkip.sources.dataset import LabeledImages  # noqa: E402

from _machine import device_tag  # noqa: E402


def split(train, size, seed):
    """(train less `size` random images, those images): the validation split."""
    order = np.random.default_rng(seed).permutation(len(train.labels))
    part = lambda idx, name: LabeledImages(train.images[idx], train.labels[idx],  # noqa: E731
                                           train.class_names, f'{train.source} ({name})')
    return part(order[size:], 'train less validation'), part(order[:size], 'validation')


def markdown(rows, args):
    lines = [
        '# KIP-ConvNet MNIST 1 image/class: loss per step on a validation split',
        '',
        f'Written by `benchmarks/kip_convnet_pilot.py`: `kip_convnet.py`\'s MNIST config '
        f'(NNGP, {rows[0]["config"]["target_batch_size"]} targets, labels learned), Adam '
        f'{args.lr} constant, {args.steps} steps; KRR accuracy on {args.validation:,} '
        f'training images held out of the distillation (seed {args.seed}). Machine: '
        f'{rows[0]["machine"]["cpu"]}, {rows[0]["machine"]["cores"]} cores.',
        '',
        '| loss | ' + ' | '.join(f'step {h["step"]}' for h in rows[0]['history'])
        + ' | seconds per step |',
        '|---|' + '---|' * (len(rows[0]['history']) + 1),
    ]
    for r in rows:
        lines.append(f'| {r["loss"]} | ' + ' | '.join(f'{100 * h["eval_accuracy"]:.2f}%'
                                                   for h in r['history'])
                     + f' | {r["seconds_per_step"]:.2f} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='.data/mnist',
                        help='extracted MNIST ImageFolder (default: %(default)s)')
    parser.add_argument('--steps', type=int, default=50, help='steps per loss (default: 50)')
    parser.add_argument('--eval-every', type=int, default=25,
                        help='steps between validation evaluations (default: 25)')
    parser.add_argument('--lr', type=float, default=RUNS['mnist'].learning_rate,
                        help='constant Adam learning rate (default: %(default)s)')
    parser.add_argument('--validation', type=int, default=2000,
                        help='training images held out for validation (default: 2000)')
    parser.add_argument('--seed', type=int, default=123,
                        help='seed of the validation split (default: 123)')
    args = parser.parse_args(argv)
    train, val = split(sources.load(args.data, 'train'), args.validation, args.seed)
    stats = preprocess.fit(PREPROCESSING['mnist'], train)
    train, val = preprocess.transform(stats, train), preprocess.transform(stats, val)
    rows = []
    for loss in LOSSES:
        config = dataclasses.replace(
            RUNS['mnist'], loss=loss, steps=args.steps, learning_rate=args.lr,
            lr_schedule='constant', eval_every=args.eval_every, eval_size=None,
            checkpoint_every=0)
        start = time.time()
        history = distill(config, train, eval_data=val).metadata['history']
        steps_s = history[-1]['seconds'] - history[0]['seconds']  # evaluations included
        rows.append({'loss': loss, 'history': history, 'seconds': time.time() - start,
                     'seconds_per_step': steps_s / args.steps, 'config': config.to_dict(),
                     'machine': machine()})
        print(f'{loss}: ' + ', '.join(f'{h["step"]}: {100 * h["eval_accuracy"]:.2f}%'
                                      for h in history), flush=True)
    stem = os.path.join(HERE, 'results', f'kip_convnet_pilot_{device_tag(jax.devices()[0])}')
    write_text(stem + '.json', json.dumps(rows, indent=2) + '\n')
    write_text(stem + '.md', markdown(rows, args))
    return 0


if __name__ == '__main__':
    sys.exit(main())
