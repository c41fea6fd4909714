"""Benchmark: which label handling and augmentation make distilled sets train networks best?

On scikit-learn's digits (no download), 10 images per class: `tfkip run`'s preset
(`tfkip.pipeline.RUN_DEFAULTS`: RFAD on the depth-3 ConvNet family) with the labels fixed,
learned, or learned and then replaced by Label Solve's, each with and without DSA augmentation
in the loss; every set, and the random real subset they all start from, trained under the
`standard` protocol (5 seeds) and tested on the digits' test split. Writes
`results/label_handling.json` and `.md`.

    python benchmarks/label_handling.py
"""
import json
import os
import sys
import time

from tfkip._runtime import configure_xla_cpu

configure_xla_cpu()  # before JAX starts its CPU backend

import jax  # noqa: E402

from tfkip import cli, options, preprocess, sources  # noqa: E402
from tfkip.publish import augmentation  # noqa: E402
from tfkip._io import write_text  # noqa: E402
from tfkip.distill.train import distill, evaluate_start  # noqa: E402
from tfkip.pipeline.config import RunConfig  # noqa: E402
from tfkip.transfer.train import protocol, train_and_evaluate  # noqa: E402

from _machine import cpu_name  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NO_FLIP = list(augmentation('kip_digits'))
VARIANTS = {  # name: the `tfkip run` flags that differ from its preset
    'fixed labels, DSA (the preset)': ['--augmentation', *NO_FLIP],
    'fixed labels, no augmentation': ['--augmentation'],
    'learned labels, DSA': ['--learn-labels', '--augmentation', *NO_FLIP],
    'learned labels, no augmentation': ['--learn-labels', '--augmentation'],
    'learned labels, DSA, final Label Solve': ['--learn-labels', '--final-label-solve',
                                               '--augmentation', *NO_FLIP],
}


def config_of(flags):
    """The DistillConfig `tfkip run --source sklearn:digits` makes with `flags`."""
    parser = cli.build_parser()
    args = parser.parse_args(['run', '--source', 'sklearn:digits', '--run-dir', '-', *flags])
    return RunConfig.from_options(options.given(args, parser.names['run'])).distill


def main():
    train, test = sources.load('sklearn:digits', 'train'), sources.load('sklearn:digits', 'test')
    stats = preprocess.fit(preprocess.PreprocessConfig(), train)  # run's default: no ZCA here
    train, test = preprocess.transform(stats, train), preprocess.transform(stats, test)
    evaluation = protocol('standard', augmentation=tuple(NO_FLIP))
    log = lambda line: print(line, flush=True)
    rows = []
    for name, flags in VARIANTS.items():
        config = config_of(flags)
        start = time.time()
        result = distill(config, train, eval_data=test, log=log, progress=False)
        seconds = time.time() - start
        keras = train_and_evaluate(evaluation, result.images, result.labels, test.images,
                                   test.labels, architecture='convnet')
        rows.append({'variant': name, 'flags': flags, 'keras': keras, 'distill_seconds': seconds,
                     'krr_accuracy': result.metadata.metrics['accuracy']})
        log(json.dumps({k: rows[-1][k] for k in ('variant', 'krr_accuracy')}
                       | {'mean': keras['mean'], 'std': keras['std']}))
    preset = config_of(VARIANTS['fixed labels, DSA (the preset)'])
    images, labels, krr = evaluate_start(preset, train, test)  # every variant's start
    keras = train_and_evaluate(evaluation, images, labels, test.images, test.labels,
                               architecture='convnet')
    rows.append({'variant': 'random real subset (the start)', 'flags': None, 'keras': keras,
                 'distill_seconds': 0.0, 'krr_accuracy': krr['accuracy']})
    machine = (f'{cpu_name()}, {os.cpu_count()} cores, JAX {jax.__version__} on '
               f'{jax.devices()[0]}')
    write_text(os.path.join(HERE, 'results', 'label_handling.json'),
               json.dumps({'machine': machine, 'rows': rows}, indent=1) + '\n')
    lines = [f'scikit-learn digits, 10 images/class, `tfkip run` preset ({preset.steps} '
             f'RFAD steps), `standard` protocol ({len(evaluation.seeds)} seeds, no flips), test '
             f'split ({len(test)} images). Machine: {machine}.', '',
             '| set | Keras ConvNet, standard | KRR (ConvNet NNGP) | distill time |',
             '|---|---|---|---|']
    for r in rows:
        lines.append(f'| {r["variant"]} | {100 * r["keras"]["mean"]:.2f}% ± '
                     f'{100 * r["keras"]["std"]:.2f} | {100 * r["krr_accuracy"]:.2f}% | '
                     f'{r["distill_seconds"]:.0f} s |')
    write_text(os.path.join(HERE, 'results', 'label_handling.md'), '\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    sys.exit(main())
