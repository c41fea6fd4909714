"""The field's evaluation code beside tfkip's `standard` protocol, on the same set: does tfkip's
protocol give the figures the field's code gives?

The field's figures (DC, DSA, DM, IDM, MTT) come from one function of the DC/DSA/DM authors'
code, `utils.evaluate_synset` of VICO-UoE/DatasetCondensation: their ConvNet-3 (width 128,
instance norm, average pooling, PyTorch's default initialisation), SGD 0.01 with momentum 0.9
and weight decay 5e-4, 1000 epochs (their loop runs 1001) of batch 256, the rate x0.1 after
half, DSA drawn per image. tfkip's `standard` protocol (`tfkip.transfer`) is written to be
that recipe in Keras. This script trains both on the same arrays, seed by seed, on the same
machine, and writes the comparison:

    python benchmarks/peers/authors_evaluation.py tfkip --set <a set's path, no extension> \
        --dataset cifar10 [--validation] --out runs/parity          # tfkip's Python
    .venv-peers/bin/python benchmarks/peers/authors_evaluation.py authors \
        --repo <DatasetCondensation git dir> --out runs/parity      # the peers extra's
    python benchmarks/peers/authors_evaluation.py report --out runs/parity \
        --results benchmarks/results/authors_evaluation_cpu

`tfkip` writes <out>/arrays.npz (the set as networks train on it, its random subset, and the
split the networks are tested on, all in the set's space) and trains tfkip's protocol on the
set and on the subset; `authors` trains the authors' on the same arrays; each accuracy is
saved as soon as it is measured (<out>/tfkip.json, <out>/authors.json), so a rerun resumes.
Their `get_network` seeds each network from the clock; the seed given here seeds the rest
(batch order, augmentation).
"""
import argparse
import dataclasses
import glob
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
STRATEGY = 'color_crop_cutout_flip_scale_rotate'  # DSA's groups, as in their README
WHAT = ('set', 'random')


class Usage(Exception):
    """A step cannot run as asked: the message names what to do (exit status 2)."""


def _write_json(path, value):
    with open(path + '.tmp', 'w') as f:
        json.dump(value, f, indent=1)
    os.replace(path + '.tmp', path)


def _read_json(path):
    return json.load(open(path)) if os.path.exists(path) else {}


def _arrays(args, path):
    """Writes `path` (<out>/arrays.npz) from the set at args.set in the preprocessing of the
    dataset's rows, and <out>/arrays.json, what they are."""
    from rows import DATASETS  # run_tfkip put benchmarks/ on the path
    from tfkip.distill.sampling import hold_out
    from tfkip.distill.train import evaluate_start
    from tfkip.formats import distilled_set
    from tfkip.pipeline import stages
    source, prep = DATASETS[args.dataset]
    source = source if ':' in source else os.path.join(args.data, source)
    train, test, _, _ = stages.load_data(source, prep)
    if args.validation:
        train, test = hold_out(train)
    made = distilled_set.load(args.set)
    images, labels = made.training_set()
    config = made.metadata.distill_config()
    random_images, random_labels, _ = evaluate_start(config, train, test)
    np.savez(path + '.tmp.npz', set_images=images, set_labels=labels.argmax(1),
             random_images=random_images, random_labels=random_labels.argmax(1),
             test_images=test.images, test_labels=test.labels,
             num_classes=train.num_classes)
    _write_json(os.path.join(os.path.dirname(path), 'arrays.json'), {
        'set': os.path.basename(args.set), 'dataset': args.dataset, 'factor': made.factor,
        'tested_on': 'validation split (a tenth of the training split held out)'
        if args.validation else 'test split'})
    os.replace(path + '.tmp.npz', path)


def _seeds(out, name, seeds, train_one, record):
    """Trains `train_one(what, seed) -> accuracy` for each seed and array pair not yet in
    <out>/<name>.json, saving after each."""
    path = os.path.join(out, f'{name}.json')
    done = {**_read_json(path), **record}
    for seed in range(seeds):
        for what in WHAT:
            key = f'{what} {seed}'
            if key in done.get('accuracies', {}):
                continue
            start = time.time()
            accuracy = train_one(what, seed)
            done.setdefault('accuracies', {})[key] = accuracy
            done.setdefault('seconds', {})[key] = time.time() - start
            _write_json(path, done)
            print(f'{name} {key}: {accuracy:.4f} ({time.time() - start:.0f} s)', flush=True)


def run_tfkip(args):
    sys.path.insert(0, os.path.dirname(HERE))
    from dm_authors import _cpu  # beside this file
    from rows import Row
    from tfkip._runtime import quiet_tensorflow
    from tfkip.transfer import train_and_evaluate
    from tfkip.transfer.train import PROTOCOLS
    quiet_tensorflow()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, 'arrays.npz')
    init = args.init or PROTOCOLS['standard'].init
    name = f'tfkip_{init}'
    if not os.path.exists(path):
        _arrays(args, path)
    record = _read_json(os.path.join(args.out, 'arrays.json'))
    arrays = np.load(path)
    num_classes = int(arrays['num_classes'])
    evaluation = dataclasses.replace(
        Row('standard', record['dataset'], 1, 'dm', 0).evaluation(), init=init)
    one_hot = lambda y: np.eye(num_classes, dtype=np.float32)[y]

    def train_one(what, seed):
        result = train_and_evaluate(
            dataclasses.replace(evaluation, seeds=(seed,)), arrays[f'{what}_images'],
            one_hot(arrays[f'{what}_labels']), arrays['test_images'], arrays['test_labels'],
            architecture='convnet')
        return float(result['accuracies'][0])

    _seeds(args.out, name, args.seeds, train_one, {
        'arrays': record, 'protocol': json.loads(json.dumps(dataclasses.asdict(evaluation))),
        'machine': _cpu()})


def run_authors(args):
    try:
        import torch
    except ImportError:
        raise Usage("torch is not installed here: run this step with the peers extra's Python "
                    '(docs/benchmarks.md: .venv-peers/bin/python)')
    if not os.path.exists(os.path.join(args.out, 'arrays.npz')):
        raise Usage(f'--out: no arrays.npz in {args.out}: run the tfkip step first')
    torch.set_num_threads(os.cpu_count())
    from dm_authors import _cpu, _export  # beside this file: their code as it runs it
    scratch = tempfile.mkdtemp(prefix='dc_authors_')
    commit, _ = _export(args.repo, scratch)
    sys.path.insert(0, scratch)
    import utils
    arrays = np.load(os.path.join(args.out, 'arrays.npz'))
    nchw = lambda x: torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    test = utils.TensorDataset(nchw(arrays['test_images']), torch.from_numpy(
        arrays['test_labels'].astype(np.int64)))
    testloader = torch.utils.data.DataLoader(test, batch_size=256, shuffle=False)
    channel, height, width = nchw(arrays['set_images'][:1]).shape[1:]
    # main_DM.py's arguments that evaluate_synset and epoch read.
    settings = argparse.Namespace(
        device='cpu', lr_net=0.01, epoch_eval_train=1000, batch_train=256, dsa=True,
        dsa_strategy=STRATEGY, dsa_param=utils.ParamDiffAug())

    def train_one(what, seed):
        torch.manual_seed(seed)
        np.random.seed(seed)
        net = utils.get_network('ConvNet', channel, int(arrays['num_classes']), (height, width))
        torch.manual_seed(seed)  # get_network seeded the clock's
        images = nchw(arrays[f'{what}_images'])
        labels = torch.from_numpy(arrays[f'{what}_labels'].astype(np.int64))
        _, _, accuracy = utils.evaluate_synset(seed, net, images, labels, testloader, settings)
        return float(accuracy)

    _seeds(args.out, 'authors', args.seeds, train_one, {
        'code': 'VICO-UoE/DatasetCondensation utils.evaluate_synset', 'commit': commit,
        'settings': {k: str(v) for k, v in vars(settings).items() if k != 'dsa_param'},
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'machine': _cpu()})


def _summary(run, what):
    """{'mean', 'std', 'accuracies', 'seconds' (the median)} of `run`'s networks on `what`."""
    keys = sorted(k for k in run['accuracies'] if k.split()[0] == what)
    values = [run['accuracies'][k] for k in keys]
    return {'mean': float(np.mean(values)), 'std': float(np.std(values)), 'accuracies': values,
            'seconds': float(np.median([run['seconds'][k] for k in keys]))}


def report(args):
    authors = _read_json(os.path.join(args.out, 'authors.json'))
    mine = {os.path.basename(p)[len('tfkip_'):-len('.json')]: _read_json(p)
            for p in sorted(glob.glob(os.path.join(args.out, 'tfkip_*.json')))}
    if not (mine and authors.get('accuracies')):
        raise Usage(f'--out: {args.out} lacks authors.json or a tfkip_<init>.json: run the '
                    'authors and tfkip steps first')
    result = {'arrays': _read_json(os.path.join(args.out, 'arrays.json')), 'authors': {
        **{k: v for k, v in authors.items() if k not in ('accuracies', 'seconds')},
        'networks': {what: _summary(authors, what) for what in WHAT}},
        'tfkip': {init: {'protocol': run['protocol'], 'machine': run['machine'],
                         'networks': {what: _summary(run, what) for what in WHAT}}
                  for init, run in mine.items()}}
    _write_json(args.results + '.json', result)
    with open(args.results + '.md.tmp', 'w') as f:
        f.write(markdown(result))
    os.replace(args.results + '.md.tmp', args.results + '.md')
    print(markdown(result), end='')


def markdown(result):
    """The comparison as a page: a title, what was measured, and the table."""
    arrays, authors = result['arrays'], result['authors']
    theirs = authors['networks']
    cell = lambda r: f"{100 * r['mean']:.2f}% ± {100 * r['std']:.2f} ({len(r['accuracies'])})"
    lines = ["# tfkip's `standard` protocol beside the DC/DM authors' `evaluate_synset`", '',
             f"The set `{arrays['set']}` ({arrays['dataset']}, factor {arrays['factor']}) and "
             f"its random subset, networks tested on the {arrays['tested_on']}, on "
             f"{authors['machine']}; the authors' code at {authors['commit'][:7]} on torch "
             f"{authors['torch']}. Written by `benchmarks/peers/authors_evaluation.py`: mean ± "
             'std over seeds (their number), the ratios of the means, the median seconds a '
             'network.', '',
             "| protocol | initialisers | set | random subset | set / authors' | "
             "random / authors' | s/network (set, random) |",
             '| --- | --- | --- | --- | --- | --- | --- |',
             f"| authors' `evaluate_synset` | PyTorch's | {cell(theirs['set'])} | "
             f"{cell(theirs['random'])} | 1 | 1 | {theirs['set']['seconds']:.0f}, "
             f"{theirs['random']['seconds']:.0f} |"]
    for init, run in result['tfkip'].items():
        ours = run['networks']
        lines.append(f"| tfkip `standard` | `init='{init}'` | {cell(ours['set'])} | "
                     f"{cell(ours['random'])} | "
                     f"{ours['set']['mean'] / theirs['set']['mean']:.3f} | "
                     f"{ours['random']['mean'] / theirs['random']['mean']:.3f} | "
                     f"{ours['set']['seconds']:.0f}, {ours['random']['seconds']:.0f} |")
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    steps = parser.add_subparsers(dest='step', required=True)
    mine = steps.add_parser('tfkip', help="export the arrays, train tfkip's protocol on them")
    mine.add_argument('--set', required=True, help='a distilled set: its path without .npz')
    mine.add_argument('--dataset', required=True, choices=('mnist', 'cifar10'))
    mine.add_argument('--validation', action='store_true',
                      help='test on the tenth of the training split held out (a pilot set)')
    mine.add_argument('--data', default='.data', help='folder holding mnist/ and cifar10/')
    mine.add_argument('--init', help="the networks' initialisers, one of "
                      "`tfkip.transfer.train.INITS` (default: the `standard` protocol's)")
    theirs = steps.add_parser('authors', help="train the authors' evaluation on the arrays")
    theirs.add_argument('--repo', required=True, help='DatasetCondensation (a git dir)')
    for step in (mine, theirs):
        step.add_argument('--seeds', type=int, default=5, help='networks per array pair')
    written = steps.add_parser('report', help='write the comparison')
    written.add_argument('--results', required=True, help='output path without extension')
    for step in (mine, theirs, written):
        step.add_argument('--out', required=True, help='working folder (arrays, accuracies)')
    args = parser.parse_args(argv)
    if args.step == 'tfkip':
        from tfkip.transfer.train import INITS
        if not os.path.exists(args.set + '.npz'):
            parser.error(f'--set: no file {args.set}.npz')
        if args.init not in (None, *INITS):
            parser.error(f"--init: one of {', '.join(INITS)}, not {args.init!r}")
    if args.step == 'authors' and not os.path.isdir(args.repo):
        parser.error(f'--repo: no folder {args.repo}')
    try:
        {'tfkip': run_tfkip, 'authors': run_authors, 'report': report}[args.step](args)
    except Usage as e:
        parser.error(str(e))
    return 0


if __name__ == '__main__':
    sys.exit(main())
