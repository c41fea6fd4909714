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
import hashlib
import json
import os
import sys
import time

import numpy as np

from tfkip._io import atomic_path, write_text

TRAINED = 'trained.json'
# What comes back from the device tool: at most 8 files of 16 MiB, 64 MiB in all (about 45
# ConvNets of 32x32 at width 128).
FILE_BYTES, FILES = 15 << 20, 4


def add_job(folder, name, evaluation, images, labels, seed, architecture='convnet'):
    """Adds `seed` of the networks `name` (`run.py`'s file of their accuracies) to the jobs
    in `folder`: its TransferConfig as a JSON value (`evaluation`), and the set ([N, H, W, C] images, [N, K] labels) in a
    file named by its content, which the jobs on the same set share."""
    images, labels = np.asarray(images, np.float32), np.asarray(labels, np.float32)
    data = 'data_' + hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()[:12]
    if not os.path.exists(os.path.join(folder, data + '.npz')):
        with atomic_path(os.path.join(folder, data + '.npz')) as tmp, open(tmp, 'wb') as f:
            np.savez(f, images=images, labels=labels)
    path = os.path.join(folder, name + '.json')
    job = json.load(open(path)) if os.path.exists(path) else {
        'evaluation': evaluation,
        'architecture': architecture, 'data': data, 'seeds': []}
    job['seeds'] = sorted(set(job['seeds']) | {seed})
    write_text(path, json.dumps(job))


def trained(folder, name, seed):
    """(the weights of network `name` at `seed` trained in `folder`, that machine's line), or
    None where it holds none."""
    runs = json.load(open(os.path.join(folder, TRAINED))).get(name, {})
    if str(seed) not in runs:
        return None
    run = runs[str(seed)]
    with np.load(os.path.join(folder, run['file'])) as weights:
        return [weights[f'{name}/{seed}/{i}'] for i in range(run['weights'])], run['machine']


def train(folder, out):
    """Trains every job of `folder` into `out`: `weights_<k>.npz` of every network's weights
    (keys `<name>/<seed>/<i>`), and `trained.json`, {name: {seed: {'file', 'weights': count,
    'seconds', 'machine'}}}; what does not fit what the device tool brings back is left for
    another call, said on stderr."""
    os.environ.setdefault('KERAS_BACKEND', 'jax')
    from _common import describe, machine
    from tfkip.transfer.train import TransferConfig, train_network
    here = describe(machine())
    print(f'device_networks: {here}', flush=True)
    record, files, chunk, size = {}, [], {}, 0

    def save():
        files.append(f'weights_{len(files)}.npz')
        with atomic_path(os.path.join(out, files[-1])) as tmp, open(tmp, 'wb') as f:
            np.savez(f, **chunk)
        write_text(os.path.join(out, TRAINED), json.dumps(record, indent=1))

    jobs = sorted(f[:-len('.json')] for f in os.listdir(folder) if f.endswith('.json'))
    for name in jobs:
        job = json.load(open(os.path.join(folder, name + '.json')))
        data = np.load(os.path.join(folder, job['data'] + '.npz'))
        config = TransferConfig(**job['evaluation'])
        for seed in job['seeds']:
            start = time.time()
            values = train_network(config, data['images'], data['labels'], seed,
                                   job['architecture']).get_weights()
            if chunk and size + sum(v.nbytes for v in values) > FILE_BYTES:
                save()
                chunk, size = {}, 0
            if len(files) == FILES:
                print(f'device_networks: {name} seed {seed} and after left for another call '
                      f'({FILES} files of weights)', file=sys.stderr)
                return
            chunk.update({f'{name}/{seed}/{i}': v for i, v in enumerate(values)})
            size += sum(v.nbytes for v in values)
            record.setdefault(name, {})[str(seed)] = {
                'file': f'weights_{len(files)}.npz', 'weights': len(values),
                'seconds': time.time() - start, 'machine': here}
            print(f'{name} seed {seed}: {time.time() - start:.1f} s', flush=True)
    save()


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
