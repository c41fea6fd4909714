"""Small data the tests make themselves (class prototypes plus noise), and a quiet `distill`."""
import dataclasses

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
