"""The DM authors' code (VICO-UoE/DatasetCondensation, `main_DM.py`) run on this machine for a
time budget, so that its set can be evaluated beside tfkip's DM under tfkip's `standard`
protocol (`benchmarks/rows.py`, the row 'dm, authors' code').

Runs in an environment with the `peers` extra (torch, torchvision; see docs/benchmarks.md),
from the authors' repository as fetched (a git directory: its HEAD is exported to a scratch
folder), reading CIFAR-10 from an ImageFolder tree in place of torchvision's download:

    python benchmarks/peers/dm_authors.py --repo <DatasetCondensation git dir> \
        --data .data/cifar10 --minutes 60 --out runs/peers/dm_authors_cifar10_ipc1

Their README's CIFAR-10 command: --dataset CIFAR10 --model ConvNet --ipc 1 --dsa_strategy
color_crop_cutout_flip_scale_rotate --init real --lr_img 1 --num_exp 5 --num_eval 5. Here:
one experiment, none of their evaluations (tfkip evaluates the set), and as many iterations
as fit the budget at the seconds per iteration measured first (two short runs: their
difference, so that loading the data is not counted).

Writes <out>.npz (images [N, H, W, C] float32 in the authors' normalized space, labels [N]
int64, mean and std [C]: the authors' constants on 0..1 pixels) and <out>.json (their
arguments, iterations, s/iteration, seconds, torch's version, the code's commit).
"""
import argparse
import contextlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ARGS = ['--dataset', 'CIFAR10', '--model', 'ConvNet', '--ipc', '1', '--dsa_strategy',
        'color_crop_cutout_flip_scale_rotate', '--init', 'real', '--lr_img', '1',
        '--num_exp', '1', '--num_eval', '0', '--eval_mode', 'M']
# utils.get_dataset's CIFAR-10 constants (ToTensor, then Normalize(mean, std)).
MEAN, STD = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]


# Their DSA copies the first image's parameters to the batch in place (`x[:] = x[0]`), which
# current PyTorch refuses as an overlapping write (their issue #20, closed); `.clone()` first
# is the same arithmetic.
SIAMESE_COPY = re.compile(r'^(\s+)(\w+)\[:\] = \2\[0\]$', re.M)


def _export(repo, into):
    """(the commit of `repo`'s HEAD, lines patched): its tree written under `into`, with
    `SIAMESE_COPY` made to clone."""
    git = ['git', f'--git-dir={repo}']
    archive = subprocess.run(git + ['archive', 'HEAD'], check=True, capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', into], input=archive, check=True)
    path = os.path.join(into, 'utils.py')
    with open(path) as f:
        text, patched = SIAMESE_COPY.subn(r'\1\2[:] = \2[0].clone()', f.read())
    with open(path, 'w') as f:
        f.write(text)
    return subprocess.run(git + ['rev-parse', 'HEAD'], check=True, capture_output=True,
                          text=True).stdout.strip(), patched


def _patched_dataset(data):
    """`utils.get_dataset` for CIFAR-10 from the ImageFolder `data` (decoded once)."""
    import torch
    from torchvision import datasets, transforms
    import utils
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    split = lambda name: datasets.ImageFolder(os.path.join(data, name), transform=transform)
    train, test = split('train'), split('test')
    tensors = lambda folder: utils.TensorDataset(
        torch.stack([x for x, _ in folder]), torch.tensor([y for _, y in folder]))
    train, test = tensors(train), tensors(test)
    testloader = torch.utils.data.DataLoader(test, batch_size=256, shuffle=False)
    class_names = datasets.ImageFolder(os.path.join(data, 'train')).classes
    return lambda dataset, data_path: (3, (32, 32), 10, class_names, MEAN, STD, train, test,
                                       testloader)


def _run(main_dm, iterations, save_path):
    """main_DM.main() for `iterations`; (seconds, its printed log)."""
    sys.argv = ['main_DM.py', *ARGS, '--Iteration', str(iterations), '--save_path', save_path,
                '--data_path', save_path]
    log, start = io.StringIO(), time.time()
    with contextlib.redirect_stdout(log):
        main_dm.main()
    return time.time() - start, log.getvalue()


def _cpu():
    """The CPU's model name and core count, as tfkip's benchmarks describe a machine."""
    try:
        with open('/proc/cpuinfo') as f:
            name = next(l.split(':', 1)[1].strip() for l in f if l.startswith('model name'))
    except (OSError, StopIteration):
        name = platform.machine()
    return f'{name}, {os.cpu_count()} cores'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repo', required=True, help="the authors' repository (git dir)")
    parser.add_argument('--data', required=True, help='CIFAR-10 ImageFolder (train/, test/)')
    parser.add_argument('--minutes', type=float, default=60., help='budget of the iterations')
    parser.add_argument('--out', required=True, help='output path without extension')
    args = parser.parse_args(argv)
    for flag, path in (('--repo', args.repo), ('--data', os.path.join(args.data, 'train'))):
        if not os.path.isdir(path):
            parser.error(f'{flag}: no folder {path}')
    try:
        import torch
        import torchvision  # noqa: F401 (the authors' utils import it)
    except ImportError as e:
        parser.error(f'{e.name} is not installed here: run this with the peers extra\'s '
                     'Python (docs/benchmarks.md: .venv-peers/bin/python)')
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    np.random.seed(0)
    scratch = tempfile.mkdtemp(prefix='dm_authors_')
    commit, patched = _export(args.repo, scratch)
    sys.path.insert(0, scratch)
    import utils
    utils.get_dataset = _patched_dataset(args.data)
    import main_DM  # binds the patched get_dataset
    short, longer = 5, 25
    t_short, _ = _run(main_DM, short, scratch)
    t_longer, _ = _run(main_DM, longer, scratch)
    per_iteration = (t_longer - t_short) / (longer - short)
    iterations = max(int(args.minutes * 60 / per_iteration), 1)
    print(f'{per_iteration:.2f} s/iteration: {iterations} iterations in {args.minutes} min',
          flush=True)
    seconds, log = _run(main_DM, iterations, scratch)
    images, labels = torch.load(os.path.join(scratch, 'res_DM_CIFAR10_ConvNet_1ipc.pt'))[
        'data'][-1]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(args.out + '.tmp.npz', images=images.permute(0, 2, 3, 1).numpy().astype(np.float32),
             labels=labels.numpy().astype(np.int64), mean=np.float32(MEAN), std=np.float32(STD))
    os.replace(args.out + '.tmp.npz', args.out + '.npz')
    record = {'code': 'VICO-UoE/DatasetCondensation main_DM.py', 'commit': commit,
              'patched': f'{patched} lines of utils.py: x[:] = x[0] -> x[:] = x[0].clone()',
              'args': ARGS + ['--Iteration', str(iterations)], 'iterations': iterations,
              'seconds_per_iteration': per_iteration, 'seconds': seconds,
              'torch': torch.__version__, 'threads': torch.get_num_threads(),
              'machine': _cpu(), 'losses': [l for l in log.splitlines() if ' iter = ' in l][-3:]}
    with open(args.out + '.json.tmp', 'w') as f:
        json.dump(record, f, indent=1)
    os.replace(args.out + '.json.tmp', args.out + '.json')
    print(f'wrote {args.out}.npz: {iterations} iterations in {seconds / 60:.1f} min')
    return 0


if __name__ == '__main__':
    sys.exit(main())
