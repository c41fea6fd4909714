"""Small data the tests make themselves (class prototypes plus noise), a quiet `distill`, and
one small `tfkip run` on digits shared by the end-to-end tests."""
import contextlib
import dataclasses
import fcntl
import io
import json

import numpy as np
import pytest

from tfkip.distill.train import distill
from tfkip.sources.dataset import LabeledImages


def make_images(num_per_class, *, num_classes=3, shape=(8, 8, 1), noise=0.3, seed=0,
                source='synthetic'):
    """LabeledImages with `num_per_class` noisy copies of one random prototype per class."""
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(1234).normal(size=(num_classes,) + shape)
    labels = np.repeat(np.arange(num_classes), num_per_class)
    images = prototypes[labels] + noise * rng.normal(size=(len(labels),) + shape)
    return LabeledImages(images.astype(np.float32), labels,
                         tuple(f'c{i}' for i in range(num_classes)), source=source)


@pytest.fixture(scope='session')
def train_data():
    return make_images(20, seed=0, source='train')


@pytest.fixture(scope='session')
def test_data():
    return make_images(10, seed=1, source='test')


def run_distill(config, train, **kwargs):
    """`distill` without its log lines and progress bar."""
    return distill(config, train, log=lambda _: None, progress=False, **kwargs)


def run_resumed(config, train, workdir, stop):
    """`config` run to step `stop` with checkpoints in `workdir`, then resumed to its end."""
    run_distill(dataclasses.replace(config, steps=stop), train, workdir=str(workdir))
    return run_distill(config, train, workdir=str(workdir))


# 1 image per class and a few steps of every stage: small enough for CI. The pipeline, fault
# and Kubeflow tests all run these options, so their uninterrupted run is made once.
SMALL_RUN = {'source': 'sklearn:digits', 'ipc': 1, 'steps': 10, 'eval_every': 5,
             'checkpoint_every': 2, 'eval_size': 100, 'target_batch_size': 100,
             'transfer_steps': 3, 'transfer_width': 8, 'transfer_seeds': [0]}


@pytest.fixture(scope='session')
def small_run_config(tmp_path_factory):
    """A config file holding SMALL_RUN, for `tfkip run --config-file`."""
    path = tmp_path_factory.mktemp('small_run_config') / 'run.json'
    path.write_text(json.dumps(SMALL_RUN))
    return path


@pytest.fixture(scope='session')
def small_run(tmp_path_factory, worker_id, small_run_config):
    """(run_dir, what it printed) of one uninterrupted `tfkip run` of SMALL_RUN, made once per
    test session: the xdist workers share it through a file lock. Tests read it, never write
    to it (copy it first)."""
    from tfkip import cli
    root = tmp_path_factory.getbasetemp()
    if worker_id != 'master':
        root = root.parent  # the session's folder, above each worker's own
    run_dir, printed = root / 'small_run', root / 'small_run.out'
    with open(root / 'small_run.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not printed.exists():
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = cli.main(['run', '--config-file', str(small_run_config),
                                 '--run-dir', str(run_dir)])
            assert code == 0, out.getvalue()
            printed.write_text(out.getvalue())
    return run_dir, printed.read_text()
