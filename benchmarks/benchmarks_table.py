"""The project's results table, BENCHMARKS.md: KIP-FC on MNIST and CIFAR-10 at 1, 10 and
50 images per class, and RFAD (ConvNet random features) at 1 and 10, each row one `tfkip run`
(Beam preprocessing -> KIP or RFAD -> TFDS publish -> Keras transfer -> random-subset
baseline -> report) on the real data in ../shared/datasets.

    mkdir -p .data/mnist .data/cifar10
    tar xzf ../shared/datasets/mnist-png-imagefolder.tar.gz -C .data/mnist
    tar xzf ../shared/datasets/cifar10-jpeg-imagefolder.tar.gz -C .data/cifar10
    python benchmarks/benchmarks_table.py                      # every row, ~2.5 h on 2 cores
    python benchmarks/benchmarks_table.py --rows mnist:1 cifar10:1 rfad:mnist:10
    python benchmarks/benchmarks_table.py --rows    # no row: only rewrite the table
    python benchmarks/rfad_step_time.py                        # RFAD's step-time table

Writes BENCHMARKS.md (the repository root) and benchmarks/results/benchmarks_table.json.
Rows not asked for are kept from the last results of the same machine. Each row's run
directory (--runs-dir/[rfad_]<dataset>_ipc<N>) holds its full report; a rerun resumes it.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from tfkip._runtime import configure_xla_cpu

configure_xla_cpu()  # before JAX starts its CPU backend

from tfkip._io import write_text  # noqa: E402
from tfkip.distill.methods.dd import DDOptions  # noqa: E402
from tfkip.distill.methods.rfad import RFADOptions  # noqa: E402
from tfkip.distill.train import DistillConfig  # noqa: E402
from tfkip.kernels.kernel import KernelConfig  # noqa: E402
from tfkip.pipeline import stages  # noqa: E402
from tfkip.pipeline.config import RunConfig  # noqa: E402
from tfkip.preprocess import PreprocessConfig  # noqa: E402
from tfkip.transfer.train import TransferConfig  # noqa: E402

from kip_mnist import FC, RUNS as KIP_MNIST_RUNS, machine  # noqa: E402
from _sections import replace_section  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = {'mnist': '.data/mnist', 'cifar10': '.data/cifar10'}
# MNIST: standardization only (issue 2's setting); CIFAR-10: regularized ZCA, lambda = 0.1.
PREPROCESS = {'mnist': PreprocessConfig(zca=False),
              'cifar10': PreprocessConfig(zca=True, zca_reg=0.1)}
# KIP-FC per row. MNIST rows are issue 2's runs (benchmarks/kip_mnist.py). CIFAR-10 rows are
# sized to ~2 / 3 / 8 minutes of KIP on 2 CPU cores (a 3072-pixel image costs ~4x an MNIST one).
# RFAD per row: random features of the paper's ConvNet (depth 3), evaluated with its exact
# NNGP; 8 networks of width 64 per step (the library's default width, 128, costs ~4x on the
# CPU), Platt loss, 500 targets per step; steps sized to ~4 (1/class) and ~5-9 (10/class)
# minutes on 2 CPU cores.
RFAD_MODELS, RFAD_WIDTH = 8, 64
CONVNET_NNGP = KernelConfig('convnet', depth=3, kernel='nngp')


def _rfad(ipc, steps):
    return DistillConfig(CONVNET_NNGP, method='rfad', loss='platt', images_per_class=ipc,
                         steps=steps, learning_rate=0.01, lr_schedule='cosine',
                         target_batch_size=500,
                         options=RFADOptions(rf_models=RFAD_MODELS, rf_width=RFAD_WIDTH),
                         eval_every=steps // 2, eval_size=1000, checkpoint_every=50)


DD_STEPS = 4000
# Rows: (method, dataset, images per class) -> DistillConfig.
DISTILL = {
    **{('kip_fc', 'mnist', ipc): config for ipc, config in KIP_MNIST_RUNS['fc'].items()},
    ('kip_fc', 'cifar10', 1): DistillConfig(FC, images_per_class=1, steps=3000, learning_rate=0.01,
                                  lr_schedule='cosine', target_batch_size=2000,
                                  eval_every=1000),
    ('kip_fc', 'cifar10', 10): DistillConfig(FC, images_per_class=10, steps=20000, learning_rate=0.04,
                                   lr_schedule='cosine', target_batch_size=1000,
                                   eval_every=5000),
    ('kip_fc', 'cifar10', 50): DistillConfig(FC, images_per_class=50, steps=6000, learning_rate=0.04,
                                   lr_schedule='cosine', target_batch_size=500,
                                   eval_every=2000),
    ('rfad', 'mnist', 1): _rfad(1, 500),
    ('rfad', 'mnist', 10): _rfad(10, 800),
    ('rfad', 'cifar10', 1): _rfad(1, 500),
    ('rfad', 'cifar10', 10): _rfad(10, 400),
    # DD (random init, fixed one-hot labels as in Wang et al.) and the coresets, evaluated by
    # the KIP-FC rows' KRR kernel. DD trains an MLP: differentiating through the unrolled
    # training of the ConvNet costs ~16 s per outer step on 2 CPU cores (XLA's second-order
    # convolutions), the MLP 0.05 s; steps sized to ~4 minutes.
    ('dd', 'mnist', 10): DistillConfig(
        FC, method='dd', images_per_class=10, steps=DD_STEPS, learning_rate=0.01,
        lr_schedule='cosine', target_batch_size=500, learn_labels=False,
        options=DDOptions(dd_architecture='fc', dd_depth=2, dd_width=256, dd_inner_steps=10,
                          dd_step_size=0.1),
        eval_every=DD_STEPS // 4, eval_size=2000, checkpoint_every=500),
    **{(m, 'mnist', 10): DistillConfig(FC, method=m, images_per_class=10)
       for m in ('random', 'herding', 'kcenter')},
}
BASELINES = ('dd', 'random', 'herding', 'kcenter')  # the rows of issue 9's table
METHODS = {'kip_fc': 'KIP-FC', 'rfad': 'RFAD', 'dd': 'DD', 'random': 'random coreset',
           'herding': 'herding coreset', 'kcenter': 'k-center coreset'}
# The Keras protocol these KRR-oriented rows were measured with (before the `standard` and
# `kip` protocols; benchmarks/transfer.py has the field's): ConvNet, Adam, 500 steps, 3 seeds.
TRANSFER = TransferConfig(protocol='adam500', model='convnet', width=64, normalization='none',
                          init='kernel', loss='mse', optimizer='adam', learning_rate=1e-3,
                          weight_decay=0.0, schedule='cosine', steps=500, augmentation=(),
                          seeds=(0, 1, 2))
# Published KRR / transfer accuracy (%) at 1, 10, 50 images per class. KIP-FC: Nguyen, Chen,
# Lee (ICLR 2021); KIP ConvNet and its finite-network transfer: Nguyen, Novak, Xiao, Lee
# (NeurIPS 2021). None: no figure in the project's references.
PUBLISHED = {
    'kip_fc': {'mnist': {1: 85.5, 10: 97.2, 50: 98.4}, 'cifar10': None},
    'kip_convnet': {'mnist': {1: 97.3, 10: 99.1, 50: 99.4},
                    'cifar10': {1: 64.7, 10: 75.6, 50: 80.6}},
    'convnet_transfer': {'mnist': None, 'cifar10': {1: 49.9, 10: 62.7, 50: 68.6}},
    # Loo, Hasani, Amini, Rus (NeurIPS 2022): finite-network transfer, CIFAR-10 1/class.
    'rfad_transfer': {'mnist': None, 'cifar10': {1: 53.6}},
}
NAMES = {'mnist': 'MNIST', 'cifar10': 'CIFAR-10'}


def row_name(method, dataset, ipc):
    """'mnist:10' (KIP-FC) or 'rfad:mnist:10': the --rows spelling and run-directory stem."""
    return ('' if method == 'kip_fc' else f'{method}:') + f'{dataset}:{ipc}'


def run_row(method, dataset, ipc, runs_dir):
    """Runs (or resumes) one row's pipeline; returns its table row."""
    prefix = '' if method == 'kip_fc' else f'{method}_'
    run_dir = os.path.join(runs_dir, f'{prefix}{dataset}_ipc{ipc}')
    config = RunConfig(source=DATA[dataset], run_dir=run_dir,
                       dataset=f'kip_{dataset}', preprocess=PREPROCESS[dataset],
                       distill=DISTILL[method, dataset, ipc], transfer=(TRANSFER,),
                       # The random coreset row is the random-subset baseline of the others.
                       skip=('baseline',) if method in BASELINES else ())
    start = time.time()
    outputs = stages.run(config, log=lambda line: print(f'   {line}', flush=True))
    with open(outputs['report']['json']) as f:
        report = json.load(f)
    seconds = report['seconds_per_stage']
    with open(os.path.join(config.run_dir, 'distilled.json')) as f:
        distilled = json.load(f)
    return {
        'method': method, 'dataset': dataset, 'ipc': ipc, 'date': time.strftime('%Y-%m-%d'),
        'random_krr': report['baseline_krr_accuracy'], 'kip_krr': report['krr_accuracy'],
        'transfer': (report['transfer'] or [None])[0],
        'random_transfer': (report['baseline_transfer'] or [None])[0],
        'steps': report['steps'], 'kip_seconds': seconds['distill'],
        'history': distilled['history'],
        'dd_fresh_network_accuracy': distilled.get('dd_fresh_network_accuracy'),
        'pipeline_seconds': sum(seconds.values()), 'this_call_seconds': time.time() - start,
        'published': report['published']['dataset'], 'run_dir': config.run_dir,
        'config': config.to_dict(),
    }


def _key(row):
    """(method, dataset, ipc) of a result row (rows from before RFAD are KIP-FC)."""
    return row.get('method', 'kip_fc'), row['dataset'], row['ipc']


def _order(key):
    method, dataset, ipc = key
    return list(METHODS).index(method), list(DATA).index(dataset), ipc


def _pct(x):
    return '-' if x is None else f'{100 * x:.2f}%'


def _transfer(result):
    return '-' if not result else f'{100 * result["mean"]:.2f}% ± {100 * result["std"]:.2f}'


def _paper(table, dataset, ipc):
    figures = PUBLISHED[table][dataset]
    return '-' if figures is None or ipc not in figures else f'{figures[ipc]}%'


def _duration(seconds):
    return f'{seconds / 60:.1f} min' if seconds >= 60 else f'{seconds:.0f} s'


def convnet_step_note():
    """What exact ConvNet KIP reached on this CPU (`kip_convnet.py`'s runs, issue 23)."""
    path = os.path.join(HERE, 'results', 'kip_convnet_cpu.json')
    if not os.path.exists(path):
        return 'no ConvNet KIP run is recorded on this machine'
    with open(path) as f:
        rows = json.load(f)
    transfer = lambda t: (f'; its set trains the `standard` protocol\'s ConvNet to '
                          f'{100 * t["distilled_mean"]:.1f}% ± {100 * t["distilled_std"]:.1f}, '
                          f'a random subset to {100 * t["random_mean"]:.1f}%')
    return ('reached ' + ', '.join(
        f'{100 * r["accuracy"]:.1f}% on {r["dataset"]} ({r["steps"]} steps of '
        f'{r["config"]["target_batch_size"]} targets, {r["seconds"] / 60:.0f} min on '
        f'{len(r["machine"]["affinity"])} of the {r["machine"]["cores"]} cores'
        f'{transfer(r["transfer"]) if "transfer" in r else ""})' for r in rows)
        + ' at 1 image per class (`benchmarks/results/kip_convnet_cpu.md`)')


def markdown(rows, info):
    devices = ', '.join(info['devices'])
    lines = [
        '## KRR of the KIP-FC, RFAD, DD and coreset sets (earlier Keras protocol)',
        '',
        'Written by `benchmarks/benchmarks_table.py` (rerun it to reproduce; the commands are '
        'in its docstring). Every row is one `tfkip run`: Beam preprocessing of the full '
        'training set, KIP with the FC kernel (depth-3 NTK, support initialised from real '
        'images, labels learned), publishing as a TFDS dataset, the Keras transfer on the '
        '`tfds.load`-ed set, and the same two evaluations of a random class-balanced real '
        'subset of the same size (the images KIP starts from, one-hot labels).',
        '',
        f'**Machine**: {info["cpu"]}, {info["cores"]} cores, JAX {info["jax"]} on {devices}'
        + (' (no GPU)' if all(d.startswith('cpu') for d in info['devices']) else '') +
        '. KRR accuracy is on the full test split (10,000 images). Keras transfer: the '
        f'project\'s ConvNet (depth {TRANSFER.depth}, width {TRANSFER.width}, MSE on the soft '
        f'labels, Adam {TRANSFER.learning_rate} {TRANSFER.schedule}, {TRANSFER.steps} steps), '
        f'mean ± std over {len(TRANSFER.seeds)} seeds, on the full test split. MNIST is '
        'standardized; CIFAR-10 is standardized and regularized-ZCA whitened (lambda = 0.1).',
        '',
        '| dataset | images/class | random subset KRR | **KIP-FC KRR** | paper KIP-FC KRR | '
        'paper KIP ConvNet KRR | random subset Keras | **KIP-FC Keras transfer** | '
        'paper ConvNet transfer | KIP steps | KIP time | pipeline time | machine |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in (r for r in rows if r['method'] == 'kip_fc'):
        d, ipc = r['dataset'], r['ipc']
        lines.append(
            f'| {NAMES[d]} | {ipc} | {_pct(r["random_krr"])} | **{_pct(r["kip_krr"])}** | '
            f'{_paper("kip_fc", d, ipc)} | {_paper("kip_convnet", d, ipc)} | '
            f'{_transfer(r["random_transfer"])} | **{_transfer(r["transfer"])}** | '
            f'{_paper("convnet_transfer", d, ipc)} | {r["steps"]} | '
            f'{_duration(r["kip_seconds"])} | {_duration(r["pipeline_seconds"])} | '
            f'{info["cpu"]}, {info["cores"]} cores |')
    lines += [
        '',
        'Pipeline time is the sum of the stages (Beam preprocessing, KIP, publish, transfer, '
        'baseline, report), each timed by `tfkip run` (`stages/*.json` in the run directory). '
        'The KIP-FC rows ran one after another in one process; the RFAD rows ran in a later '
        'one, and the DD and coreset rows in a third alongside it, the two sharing the 2 '
        'cores (their wall times are inflated by up to 2x). Step rates on this shared machine '
        'vary by up to 25% between runs, so wall times are indicative.',
        '',
        '## Comparing with the papers',
        '',
        '- The paper columns are the published figures; the KIP ConvNet ones are there for '
        'reference, because the rows of this table are KIP-FC: an FC kernel is far weaker '
        'than the ConvNet kernel on images, on CIFAR-10 most of all.',
        '- The papers ran KIP for far more steps (thousands to hundreds of thousands, with '
        'larger target batches) on accelerators; these runs are sized for a 2-core CPU. The '
        'steps column says how many each row took.',
        '- The Keras column trains a finite ConvNet on a set distilled with the FC kernel; '
        'issue 4 (`benchmarks/results/transfer_mnist.md`) found that longer KIP-FC runs raise '
        'KRR accuracy while lowering this transfer accuracy, so the FC rows here are not the '
        'paper\'s ConvNet transfer setting (a set distilled with the ConvNet kernel).',
        '',
        *rfad_section(rows, info),
        *baselines_section(rows, info),
        '## Held-out accuracy during training',
        '',
        'KRR accuracy on 2,000 (KIP-FC) or 1,000 (RFAD, exact ConvNet NNGP) test images at '
        'each evaluation (monitoring only; the tables use the full test split after the last '
        'step). A curve still rising at its end means the row\'s CPU budget, not the method, '
        'set its figure.',
        '',
        *[f'- {METHODS[r["method"]]}, {NAMES[r["dataset"]]}, {r["ipc"]}/class: ' + ', '.join(
            f'{h["step"]}: {100 * h["eval_accuracy"]:.2f}%' for h in r['history'])
          for r in rows],
        '',
        '## Rows not run on the 2-core CPU',
        '',
        '- **KIP with the ConvNet kernel** (the paper\'s headline rows, MNIST 97.3 / 99.1 / '
        '99.4% and CIFAR-10 64.7 / 75.6 / 80.6% KRR, 49.9 / 62.7 / 68.6% transfer): exact '
        f'ConvNet KIP {convnet_step_note()}; a step\'s cost grows with support size '
        'times targets per step. The paper\'s runs took thousands of steps on batches of '
        'thousands of targets with 10 and 50 images per class, on many accelerators: far '
        'beyond this machine. They need a GPU or TPU (none was lent to the sessions that '
        'wrote this table); `tfkip run --architecture convnet` runs them unchanged where JAX '
        'sees one, over all its devices.',
        '',
    ]
    return '\n'.join(lines)


def rfad_section(rows, info):
    """The RFAD table and its step-time comparison, as Markdown lines."""
    rfad = [r for r in rows if r['method'] == 'rfad']
    if not rfad:
        return []
    lines = [
        '## RFAD: random-feature distillation with the ConvNet (issue 8)',
        '',
        f'RFAD (Loo et al., NeurIPS 2022) in `tfkip run --method rfad`: KIP\'s loop on random '
        f'features of {RFAD_MODELS} finite depth-3 ConvNets of width {RFAD_WIDTH} drawn afresh '
        'every step (Platt-scaled cross-entropy with a learned temperature, labels learned, 500 '
        'targets per step, Adam 0.01 cosine, support initialised from real images). Both KRR '
        'columns use the **exact** depth-3 ConvNet NNGP (the kernel the features approximate) '
        'on the full test split; the Keras columns are the protocol above. Same machine, '
        'preprocessing and random-subset baseline (here under the ConvNet NNGP) as above.',
        '',
        '| dataset | images/class | random subset KRR (ConvNet NNGP) | **RFAD KRR (ConvNet '
        'NNGP)** | paper KIP ConvNet KRR | random subset Keras | **RFAD Keras transfer** | '
        'paper RFAD transfer | RFAD steps | RFAD time | pipeline time | machine |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in rfad:
        d, ipc = r['dataset'], r['ipc']
        lines.append(
            f'| {NAMES[d]} | {ipc} | {_pct(r["random_krr"])} | **{_pct(r["kip_krr"])}** | '
            f'{_paper("kip_convnet", d, ipc)} | {_transfer(r["random_transfer"])} | '
            f'**{_transfer(r["transfer"])}** | {_paper("rfad_transfer", d, ipc)} | '
            f'{r["steps"]} | {_duration(r["kip_seconds"])} | '
            f'{_duration(r["pipeline_seconds"])} | {info["cpu"]}, {info["cores"]} cores |')
    lines += ['', *rfad_step_time_lines(), '']
    return lines


def baselines_section(rows, info):
    """DD and the coresets at MNIST 10/class beside KIP-FC, as Markdown lines."""
    compared = [r for r in rows if r['method'] in ('kip_fc', 'dd', 'random', 'herding', 'kcenter')
                and (r['dataset'], r['ipc']) == ('mnist', 10)]
    if not any(r['method'] != 'kip_fc' for r in compared):
        return []
    dd = DISTILL['dd', 'mnist', 10]
    net = dd.options
    lines = [
        '## DD and coresets on MNIST, 10 images/class (issue 9)',
        '',
        f'Same protocol as the KIP-FC rows: the same preprocessing, the same KRR evaluation '
        f'(FC depth-3 NTK, full test split) and the same Keras transfer (a freshly '
        f'initialised ConvNet trained on the set; mean ± std over {len(TRANSFER.seeds)} '
        f'seeds). **DD** (Wang et al. 2018): a depth-{net.dd_depth}, width-{net.dd_width} '
        f'{ {"fc": "MLP", "convnet": "ConvNet"}[net.dd_architecture]} trained for '
        f'{net.dd_inner_steps} unrolled gradient steps with '
        'learned step sizes, a fresh random initialisation every outer step, fixed one-hot '
        f'labels, {dd.target_batch_size} real targets per outer step, Adam '
        f'{dd.learning_rate} cosine, images initialised from real ones. **Coresets**: '
        'class-balanced real images with one-hot labels: random (the baseline of the other '
        'tables), herding and k-center greedy in the space of the preprocessed pixels.',
        '',
        '| method | KRR (FC NTK) | Keras transfer | DD\'s own networks | steps | method time | '
        'pipeline time | machine |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for r in sorted(compared, key=lambda r: _order(_key(r))):
        fresh = r.get('dd_fresh_network_accuracy')
        fresh = (f'{100 * np.mean(fresh):.2f}% ± {100 * np.std(fresh):.2f}' if fresh else '-')
        lines.append(
            f'| {METHODS[r["method"]]} | {_pct(r["kip_krr"])} | {_transfer(r["transfer"])} | '
            f'{fresh} | {r["steps"]} | {_duration(r["kip_seconds"])} | '
            f'{_duration(r["pipeline_seconds"])} | {info["cpu"]}, {info["cores"]} cores |')
    lines += [
        '',
        '"DD\'s own networks": test accuracy of 3 freshly initialised MLPs trained by DD\'s '
        'learned inner loop (its 10 learned step sizes) on the set, the evaluation of the DD '
        'paper. The original DD authors\' repository reports 94% on MNIST with 10 images and a '
        '*fixed* initialisation (the set is then tied to that one network); the row above is '
        'the harder random-initialisation mode, evaluated on networks it never saw.',
        '',
    ]
    return lines


def rfad_step_time_lines():
    """The step-time comparison of `rfad_step_time.py`, if it ran on this machine."""
    path = os.path.join(HERE, 'results', 'rfad_step_time_cpu.json')
    if not os.path.exists(path):
        return ['Step time against exact KIP: not measured yet (`benchmarks/'
                'rfad_step_time.py`).']
    with open(path) as f:
        result = json.load(f)
    lines = ['Time per step against exact KIP with the ConvNet NNGP, the same step at the same '
             'sizes (32x32x3, `benchmarks/results/rfad_step_time_cpu.md`, one run):', '']
    for row in result['rows']:
        lines.append(f'- {row["support"]} support images, {row["targets"]} targets: exact KIP '
                     f'{row["exact_s"]:.2f} s; ' + '; '.join(
                         f'RFAD M={v["models"]}, width {v["width"]}: {v["seconds"]:.3f} s '
                         f'(**{v["speedup"]:.0f}x**)' for v in row['rfad'].values()))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rows', nargs='*', metavar='[rfad:]DATASET:IPC',
                        help='rows to run, e.g. mnist:10 (KIP-FC) rfad:cifar10:1 (RFAD) '
                             '(default: all; the flag alone: none, only rewrite the table)')
    parser.add_argument('--runs-dir', default='runs/benchmarks_table',
                        help='where each row\'s run directory goes (default: %(default)s)')
    parser.add_argument('--output', default=os.path.join(ROOT, 'BENCHMARKS.md'),
                        help='the Markdown table (default: %(default)s)')
    parser.add_argument('--results', default=os.path.join(HERE, 'results',
                                                          'benchmarks_table.json'),
                        help='the rows as JSON (default: %(default)s)')
    args = parser.parse_args(argv)
    wanted = sorted(DISTILL, key=_order)
    if args.rows is not None:
        names = {row_name(*key): key for key in wanted}
        unknown = [r for r in args.rows if r not in names]
        if unknown:
            parser.error(f'--rows {unknown}: no such row; the rows are ' + ' '.join(names))
        wanted = [names[r] for r in args.rows]
    missing = sorted({DATA[d] for _, d, _ in wanted if not os.path.isdir(DATA[d])})
    if missing:
        parser.error(f'data not found: {missing}; extract it first (see --help\'s docstring)')

    info = machine()
    rows = []
    if args.rows == [] and os.path.exists(args.results):  # only rewrite: the rows as recorded
        with open(args.results) as f:
            info = json.load(f)['machine']
    for method, dataset, ipc in wanted:
        print(f'== {METHODS[method]}, {NAMES[dataset]}, {ipc} image(s)/class', flush=True)
        rows.append(run_row(method, dataset, ipc, args.runs_dir))
        r = rows[-1]
        print(f'   {METHODS[method]} KRR {_pct(r["kip_krr"])} (random {_pct(r["random_krr"])}), Keras '
              f'{_transfer(r["transfer"])} (random {_transfer(r["random_transfer"])}), '
              f'{_duration(r["pipeline_seconds"])}', flush=True)
    if os.path.exists(args.results):
        with open(args.results) as f:
            previous = json.load(f)
        if previous['machine'] == info:
            done = {_key(r) for r in rows}
            rows += [dict(r, method=_key(r)[0]) for r in previous['rows']
                     if _key(r) not in done]
    rows.sort(key=lambda r: _order(_key(r)))
    write_text(args.results, json.dumps({'machine': info, 'rows': rows}, indent=2,
                                        default=str) + '\n')
    replace_section(args.output, 'benchmarks_table', markdown(rows, info))
    print(f'wrote {args.output} and {args.results}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
