"""Benchmark: do distilled sets train networks better than random real images? (issues 19, 24)

For each row (method, dataset, images per class): distil the training set with the method's
settings (PRESETS and STEPS: RFAD is tfkip's transfer preset, on the depth-3 ConvNet family,
fixed labels; FRePo and DM on the `standard` protocol's ConvNet; exact-kernel KIP on the
same NNGP, labels fixed; DSA augmentation for all),
then train the `standard` protocol's Keras ConvNet on the distilled set and
on a random class-balanced real subset of the same size (the images distillation starts from),
5 seeds each, and test every network on the full real test split. Rows go into
`results/transfer.json` (merged with earlier rows by dataset, images per class, method and
protocol) and the table between the `transfer` markers of BENCHMARKS.md; the distilled sets,
with their preprocessing, into `--sets` (the artifact `tfkip evaluate --artifact` and
`tfkip publish` read); a rerun of a row whose set is there with the same settings trains
its networks on that set without distilling again.

    mkdir -p .data/mnist .data/cifar10
    tar xzf ../shared/datasets/mnist-png-imagefolder.tar.gz -C .data/mnist
    tar xzf ../shared/datasets/cifar10-jpeg-imagefolder.tar.gz -C .data/cifar10
    python benchmarks/transfer.py --rows mnist:1 cifar10:1 mnist:10 cifar10:10
    python benchmarks/transfer.py --method frepo --rows cifar10:1
    python benchmarks/transfer.py --method frepo --rows cifar10:1 --no-learn-labels --steps 1600
    python benchmarks/transfer.py --method kip --rows mnist:1
    python benchmarks/transfer.py          # only rewrite the table and plot from the JSON
"""
import argparse
import dataclasses
import json
import os
import platform
import sys

from tfkip._runtime import configure_xla_cpu

configure_xla_cpu()  # before JAX starts its CPU backend

import jax  # noqa: E402

from tfkip import preprocess, sources  # noqa: E402
from tfkip.publish import augmentation  # noqa: E402
from tfkip.formats import distilled_set  # noqa: E402
from tfkip._io import atomic_path, write_text  # noqa: E402
from tfkip.distill.methods.rfad import RFADOptions  # noqa: E402
from tfkip.errors import TfkipError  # noqa: E402
from tfkip.distill.train import DistillConfig, distill, evaluate_start  # noqa: E402
from tfkip.kernels.kernel import KernelConfig  # noqa: E402
from tfkip.transfer.train import protocol, train_and_evaluate  # noqa: E402

from _machine import cpu_name  # noqa: E402
from kip_convnet import RUNS as KIP_RUNS  # noqa: E402
from _sections import replace_section  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, 'results', 'transfer.json')
BENCHMARKS_MD = os.path.join(HERE, '..', 'BENCHMARKS.md')
README_MD = os.path.join(HERE, '..', 'README.md')
KERNEL = KernelConfig('convnet', depth=3, kernel='nngp')
# Per method, its settings; steps come from STEPS, sized per row to the 60-minute CPU budget
# of issues 19 and 24. RFAD: the transfer preset of `tfkip run` (tfkip.pipeline.RUN_DEFAULTS).
# FRePo: the paper's pool (10 networks reset every 100 updates, online Adam 3e-4), labels
# learned, Adam in place of its LAMB. DM: labels fixed, as in the paper.
PRESETS = {
    'rfad': DistillConfig(KERNEL, method='rfad', loss='platt',
                          options=RFADOptions(rf_models=8, rf_width=64), learning_rate=0.01,
                          lr_schedule='cosine', target_batch_size=500, learn_labels=False,
                          eval_size=1000),
    'frepo': DistillConfig(KERNEL, method='frepo', learning_rate=0.001, lr_schedule='cosine',
                           target_batch_size=500, learn_labels=True, eval_size=1000),
    'dm': DistillConfig(KERNEL, method='dm', learning_rate=0.01, lr_schedule='cosine',
                        target_batch_size=500, learn_labels=False, eval_size=1000),
    # Exact-kernel KIP: the settings of issue 23's MNIST run (kip_convnet.RUNS: Platt loss and
    # Adam 0.1 chosen on a validation split), aimed at transfer: labels fixed; no workdir here,
    # so the library's checkpoint default, as the other presets.
    'kip': dataclasses.replace(KIP_RUNS['mnist'], learn_labels=False,
                               checkpoint_every=DistillConfig().checkpoint_every),
}
DATASETS = {  # name: (folder under --data, preprocessing, dataset name for DSA)
    'mnist': ('mnist', preprocess.PreprocessConfig(zca=False), 'kip_mnist'),
    'cifar10': ('cifar10', preprocess.PreprocessConfig(zca=True, zca_reg=0.1), 'kip_cifar10'),
}
# Steps per row, sized from measured step times so that the steps and their periodic checks
# fit the 60-minute CPU budget; each row's `history` records its own time per step, which is
# what to size a new row from (this shared machine's speed varies by up to 2x between days).
STEPS = {('rfad', 'mnist', 1): 400, ('rfad', 'cifar10', 1): 500, ('rfad', 'mnist', 10): 800,
         ('rfad', 'cifar10', 10): 400,
         ('frepo', 'cifar10', 1): 6500, ('frepo', 'cifar10', 10): 2400,
         ('frepo', 'mnist', 1): 8500, ('frepo', 'mnist', 10): 1900,
         ('dm', 'cifar10', 1): 7000, ('dm', 'cifar10', 10): 4000, ('dm', 'mnist', 1): 9000,
         ('dm', 'mnist', 10): 3000,
         ('kip', 'mnist', 1): 600}
# Published finite ConvNet-3 figures at these sizes (CIFAR-10: KIP -> NN, RFAD, FRePo, RCIG),
# the yardstick for the rows; random subsets under the field's protocol are ~14-15 / 26-31%.
PUBLISHED = {('cifar10', 1): 'KIP 49.9, RFAD 53.6, FRePo 46.8, RCIG 53.9',
             ('cifar10', 10): 'KIP 62.7, FRePo 65.5, RCIG 69.1'}
TARGETS = {('mnist', 1): 0.93, ('mnist', 10): 0.975, ('cifar10', 1): 0.45, ('cifar10', 10): 0.60}
# The FRePo authors' schedule behind their published rows (github.com/yongchaoz/FRePo: README
# and script/distill.py, --num_train_steps=500000, 1,024 targets a step, LAMB 3e-4).
FREPO_PUBLISHED = {'steps': 500_000, 'targets': 1024}


def _departures(config, dataset):
    """How a row's settings depart from its method's preset and STEPS: a list of short names
    (e.g. ['fixed labels', '1600 steps']), empty for the preset's own row."""
    preset, steps = PRESETS[config.method], STEPS[config.method, dataset, config.images_per_class]
    labels = ([('learned labels' if config.learn_labels else 'fixed labels')]
              if config.learn_labels != preset.learn_labels else [])
    return labels + ([f'{config.steps} steps'] if config.steps != steps else [])


def _set_name(config, dataset):
    suffix = ''.join('_' + d.replace(' ', '') for d in _departures(config, dataset))
    return f'{config.method}_{dataset}_ipc{config.images_per_class}{suffix}'


def _read_back(value):
    """`value` as the JSON it is saved in reads back (tuples as lists, ...), to compare it
    with what was saved."""
    return json.loads(json.dumps(value))


def _earlier_random(rows, config, evaluation, dataset):
    """An earlier row whose random-subset networks are this row's: the same images (support
    seed, size, preprocessing), KRR kernel, protocol and seeds. Keras training on the CPU is
    deterministic (the RFAD rows with fixed and learned labels measured identical random
    accuracies), so rerunning them would repeat the same numbers at ~25 min a 10/class row."""
    same = lambda r: (r['dataset'] == dataset
                      and r['images_per_class'] == config.images_per_class
                      and r['distill_config']['seed'] == config.seed
                      and r['distill_config']['kernel'] == config.to_dict()['kernel']
                      and r['evaluation'] == _read_back(dataclasses.asdict(evaluation)))
    return next((r for r in rows if same(r) and 'random_from' not in r), None)


def _saved_set(path, config, stats, log):
    """The set saved at `path` by an earlier run of this row (the same distillation settings
    and preprocessing), or None: a row stopped during its network training resumes there."""
    if not path or not os.path.exists(path + '.npz'):
        return None
    try:
        saved = distilled_set.load(path)
    except TfkipError as e:
        log(f'set: not read back ({e}); distilling again')
        return None
    prep = distilled_set.load_preprocessing(saved)
    if (saved.metadata.config == _read_back(config.to_dict()) and prep is not None
            and _read_back(prep.describe()) == _read_back(stats.describe())):
        return saved
    return None


def run_row(method, dataset, ipc, data_root, seeds, log, learn_labels=None, rows=(),
            sets=None, steps=None):
    folder, prep, kip_name = DATASETS[dataset]
    source = sources.open_source(os.path.join(data_root, folder))
    train, test = sources.load_split(source, 'train'), sources.load_split(source, 'test')
    stats = preprocess.fit(prep, train)
    train, test = preprocess.transform(stats, train), preprocess.transform(stats, test)
    ops = augmentation(kip_name)
    steps, preset = steps or STEPS[method, dataset, ipc], PRESETS[method]
    config = dataclasses.replace(preset, images_per_class=ipc, steps=steps,
                                 eval_every=steps // 4, augmentation=ops,
                                 learn_labels=(preset.learn_labels if learn_labels is None
                                               else learn_labels))
    path = os.path.join(sets, _set_name(config, dataset)) if sets else None
    result = _saved_set(path, config, stats, log)
    if result is not None:
        log(f'set: {path}.npz, distilled earlier with these settings '
            f'({result.metadata.wall_time_s / 60:.1f} min); not distilled again')
    else:
        result = distill(config, train, eval_data=test, log=log)
        if path:  # to evaluate again without distilling again
            log('set: ' + distilled_set.save(result, path, preprocessing=stats))
    seconds = result.metadata.wall_time_s
    evaluation = protocol('standard', seeds=tuple(seeds), augmentation=ops)
    progress = lambda what: lambda seed, acc: log(f'{what} seed {seed}: {acc:.4f}')
    distilled = train_and_evaluate(evaluation, result.images, result.labels, test.images,
                                   test.labels, architecture='convnet',
                                   progress=progress('distilled'))
    earlier = _earlier_random(rows, config, evaluation, dataset)
    if earlier:
        log(f'random subset: the networks of the {earlier["method"]} row (same images, '
            'protocol and seeds)')
        random = {k: earlier['random_' + k] for k in ('mean', 'std', 'accuracies')}
        random_krr = {'accuracy': earlier['random_krr_accuracy']}
    else:
        images, labels, random_krr = evaluate_start(config, train, test)
        random = train_and_evaluate(evaluation, images, labels, test.images, test.labels,
                                    architecture='convnet', progress=progress('random'))
    return {
        'dataset': dataset, 'images_per_class': ipc, 'protocol': 'standard',
        'method': ', '.join([method] + _departures(config, dataset)),
        'distilled_mean': distilled['mean'], 'distilled_std': distilled['std'],
        'distilled_accuracies': distilled['accuracies'],
        'random_mean': random['mean'], 'random_std': random['std'],
        'random_accuracies': random['accuracies'], 'seeds': list(seeds),
        **({'random_from': earlier['method']} if earlier else {}),
        'distill_seconds': seconds, 'distill_steps': result.metadata.steps,
        'krr_accuracy': result.metadata.metrics['accuracy'],
        'random_krr_accuracy': random_krr['accuracy'],
        'history': result.metadata.history,
        'distill_config': config.to_dict(), 'evaluation': dataclasses.asdict(evaluation),
        'machine': f'{cpu_name()}, {os.cpu_count()} cores, JAX {jax.__version__} on '
                   f'{jax.devices()[0]}, Python {platform.python_version()}',
        'target': TARGETS.get((dataset, ipc)), 'published': PUBLISHED.get((dataset, ipc)),
    }


SECTION = '''## Training networks on distilled sets: the field's protocol (issue 19)

Written by `benchmarks/transfer.py`. Each row: a set distilled with its method's settings
(`PRESETS`: `rfad` is `tfkip run`'s transfer preset, RFAD on random features of 8 depth-3
ConvNets of width 64, labels fixed one-hot, DSA augmentation of the support images in the
loss, no flips for MNIST, Adam 0.01 cosine, 500 targets a step; `frepo` and `dm` use the
`standard` protocol's ConvNet, 500 targets a step, the same DSA groups; `kip` is exact-kernel
KIP on the same NNGP with the Platt loss and Adam 0.1 cosine of `kip_convnet.py`'s MNIST run,
100 targets a step, labels fixed, the same DSA groups; every set's KRR
is evaluated with the exact ConvNet NNGP), and a random class-balanced real
subset of the same size (the images distillation starts from), each trained under the
`standard` protocol (ConvNet-3 width 128, instance norm, SGD 0.01 momentum 0.9, weight
decay 5e-4, lr x0.1 at half, 1000 epochs, batch 256, DSA) once per seed and tested on the
full real test split (10,000 images): mean ± std over the seeds. Rows with the same random
subset (same images, protocol and seeds) share its networks: they are trained once, by the
first such row (Keras on the CPU is deterministic here). "distill time" is the
distillation's wall time on the machine named: its steps with their periodic held-out KRR
checks on 1,000 test images, then (in brackets) the rest, almost all of it the final
exact-kernel KRR on the full test split, an evaluation the 60-minute budget of the steps
leaves out (older RFAD rows did not record the split: their total only). A method named
with departures from its preset ("frepo, fixed labels, 1600 steps") is an ablation of it;
one with fewer steps than the preset's row is shorter than the 60-minute budget.

'''


def _key(row):
    return (row['dataset'], row['images_per_class'], row['method'], row['protocol'])


def _target(row):
    if row['target'] is None:
        return '-'
    met = 'met' if row['distilled_mean'] >= row['target'] else 'not met'
    return f'>= {100 * row["target"]:.1f}% ({met})'


def _steps_seconds(row):
    """Wall seconds of a row's steps with their periodic checks (the last evaluation's time
    since the steps began), or None where the row did not record it."""
    return row['history'][-1].get('seconds') if row['history'] else None


def _distill_time(row):
    steps, total = _steps_seconds(row), row['distill_seconds']
    if steps is None:
        return f'{total / 60:.1f} min'
    return f'{steps / 60:.1f} min (+{(total - steps) / 60:.1f})'


def markdown(rows):
    lines = ['| dataset | images/class | method | protocol | **distilled** | random real subset '
             '| distilled - random (std of the difference) | target | published | distill time '
             '| steps | machine |', '|' + '---|' * 12]
    for r in sorted(rows, key=_key):
        gap = 100 * (r['distilled_mean'] - r['random_mean'])
        spread = 100 * (r['distilled_std'] ** 2 + r['random_std'] ** 2) ** 0.5
        shared = f' (the {r["random_from"]} row\'s networks)' if 'random_from' in r else ''
        lines.append(
            f'| {r["dataset"]} | {r["images_per_class"]} | {r["method"]} | {r["protocol"]} | '
            f'**{100 * r["distilled_mean"]:.2f}% ± {100 * r["distilled_std"]:.2f}** | '
            f'{100 * r["random_mean"]:.2f}% ± {100 * r["random_std"]:.2f}'
            f'{shared} | '
            f'{gap:+.2f} ({spread:.2f}) | '
            f'{_target(r)} | '
            f'{r["published"] or "-"} | {_distill_time(r)} | '
            f'{r["distill_steps"]} | {r["machine"]} |')
    done = {(r['method'], r['dataset'], r['images_per_class']) for r in rows}
    for method, dataset, ipc in sorted(set(STEPS) - done):
        lines.append(f'| {dataset} | {ipc} | {method} | standard | not run yet | - | - | '
                     f'>= {100 * TARGETS[dataset, ipc]:.1f}% | '
                     f'{PUBLISHED.get((dataset, ipc)) or "-"} | - | '
                     f'{STEPS[method, dataset, ipc]} | - |')
    return '\n'.join(lines) + '\n'


def needed(rows):
    """Markdown: for each FRePo row short of its target, the hours the authors' published
    schedule would take at that row's time per step (from the step-0 check to the last)."""
    lines = []
    for r in sorted(rows, key=_key):
        seconds = _steps_seconds(r)
        if (r['distill_config']['method'] != 'frepo' or seconds is None
                or r['target'] is None or r['distilled_mean'] >= r['target']):
            continue
        step = (seconds - r['history'][0]['seconds']) / r['distill_steps']
        hours = step * FREPO_PUBLISHED['steps'] / 3600
        lines.append(f'- {r["dataset"]} {r["images_per_class"]}/class, {r["method"]}: '
                     f'{step:.2f} s a step of {r["distill_config"]["target_batch_size"]} '
                     f'targets, so about {hours:.0f} hours ({hours / 24:.1f} days) of this CPU '
                     'at that batch')
    if not lines:
        return ''
    return ('\nWhat the targets would need: the FRePo authors\' published rows ran '
            f'{FREPO_PUBLISHED["steps"]:,} steps of {FREPO_PUBLISHED["targets"]:,} targets. '
            'That schedule at the measured time per step of each FRePo row short of its '
            'target (steps of more targets take longer):\n\n' + '\n'.join(lines) + '\n')


def summary(rows):
    """Markdown for the README: each row's mean accuracy by method (ablations on their own
    lines) and by dataset and size, beside the random subset, linking to the full table."""
    cells = sorted({(r['dataset'], r['images_per_class']) for r in rows})
    head = ' | '.join(f'{d} {i}/class' for d, i in cells)
    lines = [f'| `standard` protocol, 5 seeds | {head} |', '|---|' + '---|' * len(cells)]
    found = {(r['method'], r['dataset'], r['images_per_class']): r for r in rows}
    order = list(PRESETS)
    for method in sorted({r['method'] for r in rows},
                         key=lambda m: (order.index(m.split(',')[0]), m)):
        lines.append(f'| {method} | ' + ' | '.join(
            f'{100 * found[method, d, i]["distilled_mean"]:.1f}%'
            if (method, d, i) in found else '-' for d, i in cells) + ' |')
    random = {(r['dataset'], r['images_per_class']): r['random_mean'] for r in rows}
    lines.append('| random real images | ' + ' | '.join(
        f'{100 * random[c]:.1f}%' for c in cells) + ' |')
    return ('\n'.join(lines) + '\n\nEach set distilled in about an hour of a 2-core CPU; '
            'every figure, with its std, time and machine, is in '
            '[BENCHMARKS.md](BENCHMARKS.md).\n')


def plot(rows, path):
    """Accuracy against images per class, distilled and random, one panel per dataset."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    datasets = sorted({r['dataset'] for r in rows})
    figure, axes = plt.subplots(1, len(datasets), figsize=(4.5 * len(datasets), 3.4),
                                squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        mine = sorted((r for r in rows if r['dataset'] == dataset),
                      key=lambda r: r['images_per_class'])
        lines = {f'distilled ({m})': [(r['images_per_class'], r['distilled_mean'],
                                       r['distilled_std']) for r in mine if r['method'] == m]
                 for m in dict.fromkeys(r['method'] for r in mine)}
        random = {r['images_per_class']: (r['random_mean'], r['random_std']) for r in mine}
        lines['random real subset'] = [(k, *v) for k, v in sorted(random.items())]
        for label, points in lines.items():
            ipc, mean, std = zip(*points)
            ax.errorbar(ipc, [100 * m for m in mean], yerr=[100 * s for s in std], marker='o',
                        capsize=3, label=label)
        ax.set(xscale='log', xlabel='images per class', ylabel='test accuracy (%)',
               title=f'{dataset}, standard protocol')
        ax.legend()
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format='png', dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rows', nargs='*', default=[],
                        help='dataset:images_per_class to run, dataset in '
                             + ', '.join(DATASETS) + ' (none: rewrite the table and plot from '
                             'results/transfer.json)')
    parser.add_argument('--data', default='.data', help='folder holding mnist/ and cifar10/')
    parser.add_argument('--seeds', type=int, default=5, help='networks per set')
    parser.add_argument('--sets', default=os.path.join('runs', 'transfer'),
                        help='folder the distilled sets are saved to, as <method>_<dataset>_'
                             'ipc<N>[_learnedlabels|_fixedlabels][_<S>steps].npz, and read '
                             'back by a rerun of the row with the same settings instead of '
                             'distilling again (default: %(default)s; empty: not saved)')
    parser.add_argument('--method', choices=sorted(PRESETS), default='rfad',
                        help='distillation method of the rows (default: %(default)s)')
    parser.add_argument('--learn-labels', action=argparse.BooleanOptionalAction,
                        help='learn the labels, or keep them fixed, whatever the method\'s '
                             'preset does (rfad and dm keep them fixed, frepo learns them); '
                             'such rows are named apart from the preset\'s')
    parser.add_argument('--steps', type=int,
                        help='distillation steps of the rows, in place of STEPS\'s (sized to '
                             'the 60-minute budget): a shorter ablation, named apart from the '
                             'preset\'s row by its steps')
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 4:
        parser.error(f'--steps: at least 4 (held-out evaluations every steps/4), got {args.steps}')
    rows = json.load(open(RESULTS)) if os.path.exists(RESULTS) else []
    for spec in args.rows:
        dataset, ipc = spec.split(':')
        if (args.method, dataset, int(ipc)) not in STEPS:
            sized = [f'{d}:{i}' for m, d, i in STEPS if m == args.method]
            parser.error(f'--rows: no {args.method} settings for {spec}; '
                         + (f'choose from {", ".join(sized)}' if sized else
                            f'no {args.method} row has its steps in STEPS yet'))
        row = run_row(args.method, dataset, int(ipc), args.data, range(args.seeds),
                      lambda line: print(line, flush=True), args.learn_labels, rows,
                      args.sets, args.steps)
        rows = [r for r in rows if _key(r) != _key(row)] + [row]
        write_text(RESULTS, json.dumps(rows, indent=1) + '\n')
        print(json.dumps({k: row[k] for k in ('dataset', 'images_per_class', 'distilled_mean',
                                              'distilled_std', 'random_mean', 'random_std',
                                              'distill_seconds')}), flush=True)
    table = (markdown(rows) + needed(rows)
             + '\n![accuracy against images per class](benchmarks/results/transfer.png)\n')
    plot(rows, os.path.join(HERE, 'results', 'transfer.png'))
    write_text(os.path.join(HERE, 'results', 'transfer.md'), table)
    replace_section(BENCHMARKS_MD, 'transfer', SECTION + table)
    replace_section(README_MD, 'results', summary(rows))
    print(table)


if __name__ == '__main__':
    sys.exit(main())
