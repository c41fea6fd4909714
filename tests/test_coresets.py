"""Coreset baselines against brute force on tiny data, and through the distillation loop."""
import dataclasses
import itertools

import numpy as np
import pytest

from tfkip.distill.methods.coresets import selection
from tfkip.distill.train import DistillConfig, distill, initial_params
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import KernelConfig


def test_herding_picks_the_subset_whose_mean_tracks_the_class_mean():
    features = np.random.default_rng(0).normal(size=(12, 3))
    chosen = selection.herding(features, 3)
    # Step 1 is the point nearest the mean; each later step the best greedy extension.
    mean = features.mean(0)
    assert chosen[0] == np.argmin(np.linalg.norm(features - mean, axis=1))
    best_pair = min((i for i in range(12) if i != chosen[0]),
                    key=lambda i: np.linalg.norm(mean - (features[chosen[0]] + features[i]) / 2))
    assert chosen[1] == best_pair
    assert len(set(chosen)) == 3


def test_k_center_minimises_the_covering_radius_greedily():
    features = np.random.default_rng(1).normal(size=(15, 2))
    chosen = selection.k_center(features, 4)
    assert chosen[0] == np.argmin(np.linalg.norm(features - features.mean(0), axis=1))
    for k in range(1, 4):  # each pick is the point farthest from those before it
        dist = np.linalg.norm(features[:, None] - features[chosen[:k]][None], axis=2).min(1)
        assert chosen[k] == np.argmax(dist)
    # Greedy k-center is a 2-approximation of the best covering radius.
    radius = lambda rows: np.linalg.norm(features[:, None] - features[list(rows)][None],
                                         axis=2).min(1).max()
    best = min(radius(rows) for rows in itertools.combinations(range(15), 4))
    assert radius(chosen) <= 2 * best + 1e-12


@pytest.mark.parametrize('method', selection.CORESETS)
def test_coresets_are_class_balanced_real_images_with_one_hot_labels(train_data, test_data,
                                                                     method):
    config = DistillConfig(KernelConfig('fc', depth=1), method=method, images_per_class=2)
    result = distill(config, train_data, eval_data=test_data, progress=False,
                     log=lambda _: None)
    assert result.metadata.steps == 0 and result.metadata.method == method
    np.testing.assert_array_equal(result.class_ids, [0, 0, 1, 1, 2, 2])
    rows = [np.flatnonzero((train_data.images == image).all(axis=(1, 2, 3)))
            for image in result.images]
    assert all(len(r) == 1 for r in rows)  # each a real training image, none repeated
    assert len({int(r[0]) for r in rows}) == 6
    np.testing.assert_allclose(result.labels.sum(1), 0, atol=1e-6)  # centered one-hot
    assert 0 < result.metadata.metrics['accuracy'] <= 1


def test_random_coreset_is_the_subset_kip_starts_from(train_data):
    config = DistillConfig(KernelConfig('fc', depth=1), method='random', images_per_class=3)
    result = distill(config, train_data, progress=False, log=lambda _: None)
    start = initial_params(dataclasses.replace(config, method='kip'), train_data)
    np.testing.assert_array_equal(result.images, start['images'])


def test_too_few_images_for_the_coreset(train_data):
    config = DistillConfig(KernelConfig('fc', depth=1), method='herding', images_per_class=21)
    with pytest.raises(TfkipError, match='has only 20 of class 0'):
        distill(config, train_data, progress=False, log=lambda _: None)
