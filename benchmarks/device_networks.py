"""Trains benchmark rows' networks on an accelerator machine; they are tested back here.

A row's set is distilled on the CPU its time is measured on; its networks (the `standard`
protocol's 1000 epochs, per seed and on the random subset too) take a 2-core CPU 3-20
minutes each, an accelerator seconds. In three steps:

    python benchmarks/run.py --rows ID --jobs runs/device      # here: what is left to train
    python3 benchmarks/device_networks.py runs/device          # there (the device tool)
    python benchmarks/run.py --rows ID --weights DIR           # here: DIR holds what came back

There, Keras runs on JAX (the device image has no TensorFlow; `accelerator_wheels.sh` brings
Keras) and writes each network's weights and `trained.json` (seconds, machine) to $OUT, or
to a folder given second. Here, `run.py --weights` builds each network again, loads its
weights, tests it on the full test split, and names the machine it trained on in the row:
the test data never travels.

    device tool: run command='bash benchmarks/accelerator_check.sh --networks runs/device'
                 carry=['.whl', 'runs/device']
"""
import json
import os
import sys
import time

import numpy as np

from tfkip._io import atomic_path, write_text

TRAINED = 'trained.json'


def add_job(folder, name, evaluation, images, labels, seed, architecture='convnet'):
    """Adds `seed` of the networks `name` (`run.py`'s file of their accuracies) to the jobs
    in `folder`: the set ([N, H, W, C] images, [N, K] labels) and its TransferConfig."""
    import dataclasses
    os.makedirs(folder, exist_ok=True)
    base = os.path.join(folder, name)
    job = json.load(open(base + '.json')) if os.path.exists(base + '.json') else {
        'evaluation': json.loads(json.dumps(dataclasses.asdict(evaluation), default=str)),
        'architecture': architecture, 'seeds': []}
    if not os.path.exists(base + '.npz'):
        with atomic_path(base + '.npz') as tmp, open(tmp, 'wb') as f:
            np.savez(f, images=np.asarray(images, np.float32),
                     labels=np.asarray(labels, np.float32))
    job['seeds'] = sorted(set(job['seeds']) | {seed})
    write_text(base + '.json', json.dumps(job))


def trained(folder, name, seed):
    """(the weights of network `name` at `seed` trained in `folder`, that machine's line), or
    None where it holds none."""
    path = os.path.join(folder, name + '.npz')
    record = os.path.join(folder, TRAINED)
    if not (os.path.exists(path) and os.path.exists(record)):
        return None
    runs = json.load(open(record)).get(name, {})
    if str(seed) not in runs:
        return None
    weights = np.load(path)
    count = runs[str(seed)]['weights']
    return [weights[f'{seed}/{i}'] for i in range(count)], runs[str(seed)]['machine']


def train(folder, out):
    """Trains every job of `folder` into `out`: `<name>.npz` of each seed's weights, and
    `trained.json`, {name: {seed: {'weights': count, 'seconds', 'machine'}}}."""
    os.environ.setdefault('KERAS_BACKEND', 'jax')
    from _common import describe, machine
    from tfkip.transfer.train import TransferConfig, train_network
    here = describe(machine())
    print(f'device_networks: {here}', flush=True)
    record = {}
    for file in sorted(f for f in os.listdir(folder) if f.endswith('.json')):
        name = file[:-len('.json')]
        job = json.load(open(os.path.join(folder, file)))
        data = np.load(os.path.join(folder, name + '.npz'))
        config = TransferConfig(**job['evaluation'])
        weights, record[name] = {}, {}
        for seed in job['seeds']:
            start = time.time()
            model = train_network(config, data['images'], data['labels'], seed,
                                  job['architecture'])
            values = model.get_weights()
            weights.update({f'{seed}/{i}': w for i, w in enumerate(values)})
            record[name][str(seed)] = {'weights': len(values),
                                       'seconds': time.time() - start, 'machine': here}
            print(f'{name} seed {seed}: {time.time() - start:.1f} s', flush=True)
        with atomic_path(os.path.join(out, name + '.npz')) as tmp, open(tmp, 'wb') as f:
            np.savez(f, **weights)
        write_text(os.path.join(out, TRAINED), json.dumps(record, indent=1))


if __name__ == '__main__':
    if len(sys.argv) not in (2, 3) or sys.argv[1] in ('-h', '--help'):
        print(__doc__)
        sys.exit(0 if sys.argv[1:] in (['-h'], ['--help']) else 2)
    out = sys.argv[2] if len(sys.argv) == 3 else os.environ.get('OUT')
    if not out:
        print('device_networks.py: give the folder to write to, or set OUT', file=sys.stderr)
        sys.exit(2)
    os.makedirs(out, exist_ok=True)
    train(sys.argv[1], out)
