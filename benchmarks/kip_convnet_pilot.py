"""Benchmark: which KIP settings learn faster for `kip_convnet.py`'s MNIST row, judged on a
validation split carved from the training set (the test split is never seen).

Runs `kip_convnet.py`'s MNIST config once per variant at a constant learning rate (a cosine
over so few steps would be a different schedule) and records the KRR accuracy on the held-out
training images every `eval_every` steps, with the wall time, so that variants with slower
steps compare at equal time. A variant overrides fields of that config, `field=value` pairs
joined by commas (`loss=mse`, `learning_rate=0.03`, `target_batch_size=300,steps=60`).
Writes `results/kip_convnet_pilot_<device>.{json,md}`; a variant that is run again replaces
its row, the others are kept.

    python benchmarks/kip_convnet_pilot.py --lr 0.01 --variants loss=mse loss=platt
"""
import argparse
import dataclasses
import json
import os
import sys
import time

# kip_convnet configures XLA before JAX starts.
from kip_convnet import HERE, PREPROCESSING, RUNS, curve, machine

import jax  # noqa: E402
import numpy as np  # noqa: E402

from tfkip import options, preprocess, sources  # noqa: E402
from tfkip._io import write_text  # noqa: E402
from tfkip.distill.config import DistillConfig  # noqa: E402
from tfkip.distill.train import distill  # noqa: E402
from tfkip.errors import TfkipError  # noqa: E402
from tfkip.sources.dataset import LabeledImages  # noqa: E402

from _machine import device_tag  # noqa: E402


def split(train, size, seed):
    """(train less `size` random images, those images): the validation split."""
    order = np.random.default_rng(seed).permutation(len(train.labels))
    part = lambda idx, name: LabeledImages(train.images[idx], train.labels[idx],  # noqa: E731
                                           train.class_names, f'{train.source} ({name})')
    return part(order[size:], 'train less validation'), part(order[:size], 'validation')


# The `DistillConfig` fields a variant may set; their types and choices are the config's own
# options (`tfkip.options`).
VARIED = ('loss', 'learning_rate', 'target_batch_size', 'steps', 'eval_every', 'reg',
          'learn_labels', 'learn_hparams')


class _VariantParser(argparse.ArgumentParser):
    def error(self, message):
        raise TfkipError(f'--variants: {message}')


def parse_variant(text):
    """'field=value,...' -> {field: value}, each value parsed by its `DistillConfig` option
    (booleans as true / false); a TfkipError names a bad pair."""
    parser = _VariantParser(add_help=False)
    names = options.add_fields(parser, DistillConfig, only=VARIED)
    switches = {f.name for f in dataclasses.fields(DistillConfig) if f.type is bool}
    argv = []
    for pair in text.split(','):
        name, sep, value = pair.partition('=')
        if not sep or name not in VARIED:
            raise TfkipError(f'--variants: {pair!r} is not field=value with field one of '
                             f'{", ".join(VARIED)}')
        if name in switches:
            if value not in ('true', 'false'):
                raise TfkipError(f'--variants: {name} takes true or false, not {value!r}')
            argv.append(options.flag(name if value == 'true' else 'no_' + name))
        else:
            argv.append(f'{options.flag(name)}={value}')
    return options.given(parser.parse_args(argv), names)


def markdown(rows):
    first = rows[0]
    lines = [
        '# KIP-ConvNet MNIST 1 image/class: settings compared on a validation split',
        '',
        f'Written by `benchmarks/kip_convnet_pilot.py`: `kip_convnet.py`\'s MNIST config '
        f'(NNGP ConvNet, labels learned, Adam at a constant learning rate) with each variant\'s '
        f'fields changed; KRR accuracy on {first["validation"]:,} training images held out of '
        f'the distillation (seed {first["validation_seed"]}), never the test split. Minutes '
        'count from the first evaluation and include the later ones. Machine: '
        f'{first["machine"]["cpu"]}, {first["machine"]["cores"]} cores.',
        '',
        '| variant | loss | Adam lr | targets | steps | seconds per step | minutes | last '
        'validation accuracy | run on |',
        '|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        c, h = r['config'], r['history']
        lines.append(f'| `{r["variant"]}` | {c["loss"]} | {c["learning_rate"]} | '
                     f'{c["target_batch_size"]} | {c["steps"]} | {r["seconds_per_step"]:.2f} | '
                     f'{(h[-1]["seconds"] - h[0]["seconds"]) / 60:.1f} | '
                     f'{100 * h[-1]["eval_accuracy"]:.2f}% | {r["date"]} |')
    lines += ['', 'Validation curves (step (minutes): accuracy):', '']
    lines += [f'- `{r["variant"]}`: {curve(r["history"], r["history"][0]["seconds"])}'
              for r in rows]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='.data/mnist',
                        help='extracted MNIST ImageFolder (default: %(default)s)')
    parser.add_argument('--variants', nargs='+', default=['loss=mse', 'loss=platt'],
                        metavar='FIELD=VALUE[,...]',
                        help=f'one run per variant, each overriding fields of the config: '
                             f'{", ".join(VARIED)} (default: %(default)s)')
    parser.add_argument('--steps', type=int, default=50,
                        help='steps of a variant that does not set them (default: 50)')
    parser.add_argument('--eval-every', type=int, default=25,
                        help='steps between validation evaluations of a variant that does not '
                             'set them (default: 25)')
    parser.add_argument('--lr', type=float, default=RUNS['mnist'].learning_rate,
                        help='constant Adam learning rate of a variant that does not set it '
                             '(default: %(default)s)')
    parser.add_argument('--validation', type=int, default=2000,
                        help='training images held out for validation (default: 2000)')
    parser.add_argument('--seed', type=int, default=123,
                        help='seed of the validation split (default: 123)')
    args = parser.parse_args(argv)
    try:
        configs = {text: dataclasses.replace(
            RUNS['mnist'], **{'steps': args.steps, 'learning_rate': args.lr,
                              'eval_every': args.eval_every, **parse_variant(text)},
            lr_schedule='constant', eval_size=None, checkpoint_every=0)
            for text in args.variants}
    except TfkipError as e:
        parser.error(str(e))
    stem = os.path.join(HERE, 'results', f'kip_convnet_pilot_{device_tag(jax.devices()[0])}')
    rows = []
    if os.path.exists(stem + '.json'):
        with open(stem + '.json') as f:
            rows = [r for r in json.load(f) if r['variant'] not in configs]
        # Only rows judged on the same split compare; the others stay until moved by hand.
        other = {(r['validation'], r['validation_seed']) for r in rows} - {
            (args.validation, args.seed)}
        if other:
            parser.error(f'--validation/--seed: {stem}.json holds rows judged on another split '
                         f'({", ".join(f"{n} images, seed {s}" for n, s in sorted(other))}); '
                         'use those or move the file')
    try:
        train = sources.load(args.data, 'train')
    except TfkipError as e:
        parser.error(f'--data {args.data}: {e}')
    train, val = split(train, args.validation, args.seed)
    stats = preprocess.fit(PREPROCESSING['mnist'], train)
    train, val = preprocess.transform(stats, train), preprocess.transform(stats, val)
    for text, config in configs.items():
        start = time.time()
        history = distill(config, train, eval_data=val).metadata.history
        steps_s = history[-1]['seconds'] - history[0]['seconds']  # evaluations included
        rows.append({'variant': text, 'history': history, 'seconds': time.time() - start,
                     'seconds_per_step': steps_s / config.steps, 'config': config.to_dict(),
                     'validation': args.validation, 'validation_seed': args.seed,
                     'date': time.strftime('%Y-%m-%d'), 'machine': machine()})
        print(f'{text}: {curve(history, history[0]["seconds"])}', flush=True)
        # Written after each variant, so a stopped run keeps the variants it finished.
        write_text(stem + '.json', json.dumps(rows, indent=2) + '\n')
        write_text(stem + '.md', markdown(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
