"""Multi-formation: stored images of factor x factor sub-images, decoded in one place and
seen decoded by every loss, evaluation and published dataset."""
import dataclasses

import jax
import numpy as np
import pytest

from conftest import make_images, run_distill
from tfkip.distill import formation
from tfkip.distill.config import DistillConfig
from tfkip.distill.krr import evaluate
from tfkip.distill.train import evaluate_start, initial_params
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn
from tfkip.publish import config_for
from tfkip.publish.builder import KipBuilder

KERNEL = KernelConfig('convnet', depth=1, kernel='nngp')


def test_sub_images_are_the_quadrants_in_row_major_order_upsampled_bilinearly():
    # Four constant images -> one stored image of four constant quadrants, and back.
    images = np.stack([np.full((4, 4, 1), v, np.float32) for v in (0., 1., 2., 3.)])
    stored = np.asarray(formation.encode(images, 2))
    assert stored.shape == (1, 4, 4, 1)
    np.testing.assert_array_equal(stored[0, :, :, 0], [[0, 0, 1, 1], [0, 0, 1, 1],
                                                        [2, 2, 3, 3], [2, 2, 3, 3]])
    decoded, labels = formation.decode(stored, np.array([[0.9, -0.1]], np.float32), 2)
    np.testing.assert_allclose(np.asarray(decoded), images, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(labels), np.float32([[0.9, -0.1]] * 4))
    # A 2 x 2 sub-image [a b; c d] upsampled to 4 x 4 with half-pixel centres (PyTorch's
    # bilinear, align_corners=False, as IDC and IDM use): weights 3/4, 1/4 inside, edges held.
    sub = np.array([[0., 4.], [8., 12.]], np.float32)
    stored = np.zeros((1, 4, 4, 1), np.float32)
    stored[0, :2, :2, 0] = sub
    row = lambda a, b: [a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b]
    top, bottom = np.array(row(0., 4.)), np.array(row(8., 12.))
    expected = np.stack(row(top, bottom))
    got = np.asarray(formation.decode(stored, np.zeros((1, 2), np.float32), 2)[0])
    np.testing.assert_allclose(got[0, :, :, 0], expected, atol=1e-5)


def test_factor_1_changes_nothing():
    images = np.random.default_rng(0).normal(size=(3, 4, 4, 2)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)
    assert formation.decode(images, labels, 1) == (images, labels)
    assert formation.encode(images, 1) is images


def test_gradients_reach_every_quadrant_of_a_stored_image():
    stored = np.random.default_rng(1).normal(size=(2, 4, 4, 1)).astype(np.float32)
    labels = np.eye(2, dtype=np.float32)
    weights = np.random.default_rng(2).normal(size=(8, 4, 4, 1)).astype(np.float32)
    grad = jax.grad(lambda x: (formation.decode(x, labels, 2)[0] * weights).sum())(stored)
    assert all(np.abs(np.asarray(grad)[:, i:i + 2, j:j + 2]).min() > 0
               for i in (0, 2) for j in (0, 2))


def test_a_factor_2_run_stores_its_budget_and_trains_on_four_times_as_many(train_data,
                                                                           test_data):
    config = DistillConfig(KERNEL, method='dm', images_per_class=2, factor=2, steps=3,
                           target_batch_size=6, learn_labels=False, eval_every=0)
    start = initial_params(config, train_data)
    assert start['images'].shape == (6, 8, 8, 1) and start['labels'].shape == (6, 3)
    # Each stored image starts as four downscaled real images of its class.
    assert np.all(np.asarray(start['labels']).argmax(1) == np.repeat(np.arange(3), 2))
    result = run_distill(config, train_data, eval_data=test_data)
    assert result.images.shape == (6, 8, 8, 1) and result.factor == 2
    images, labels = result.training_set()
    assert images.shape == (24, 8, 8, 1) and labels.shape == (24, 3)
    assert not np.allclose(result.images, start['images'])  # the steps moved it
    # The reported KRR accuracy is that of the training images, not the stored ones.
    expected = evaluate(make_kernel_fn(KERNEL, 3), KERNEL.initial_hparams(), images, labels,
                        test_data.images, test_data.labels, reg=config.reg)
    assert result.metadata.metrics['accuracy'] == pytest.approx(expected['accuracy'])
    # The random baseline is the same storage of real images, at full resolution.
    baseline = evaluate_start(config, train_data, test_data)[0]
    np.testing.assert_array_equal(
        baseline, evaluate_start(dataclasses.replace(config, factor=1), train_data,
                                 test_data)[0])
    # Published: the config name says the factor, and the dataset's rows are the 24 images.
    assert config_for(result) == 'dm_convnet_fixedlabels_f2_ipc2'
    rows = [row for _, row in KipBuilder._generate_examples(None, result)]
    assert len(rows) == 24 and [r['label'] for r in rows] == list(np.repeat(np.arange(3), 8))
    np.testing.assert_array_equal(rows[5]['image'], images[5])


@pytest.mark.parametrize('changes, message', [
    ({'method': 'random'}, "factor 2 applies to methods that learn images, not 'random'"),
    ({'final_label_solve': True}, 'factor 2 does not go with final_label_solve'),
])
def test_factor_needs_a_method_that_learns_images(changes, message):
    with pytest.raises(TfkipError, match=message):
        DistillConfig(KERNEL, factor=2, **changes)


def test_a_factor_must_divide_the_images():
    train = make_images(9, shape=(6, 6, 1))
    with pytest.raises(TfkipError, match="factor 4 does not divide synthetic's 6 x 6 images"):
        run_distill(DistillConfig(KERNEL, method='dm', images_per_class=1, factor=4, steps=1,
                                  target_batch_size=3, learn_labels=False), train)


CONV, FC = {'architecture': 'convnet', 'depth': 1, 'kernel': 'nngp'}, {'architecture': 'fc',
                                                                     'depth': 1}
SMALL = {  # each learning method at a small size, as command-line options
    'kip': FC,
    'rfad': {**CONV, 'rf_models': 1, 'rf_width': 8, 'loss': 'platt'},
    'dm': {**CONV, 'dm_width': 8, 'dm_depth': 1, 'learn_labels': False},
    # A vanishing step: the pool then trains on (almost) the same images in both runs.
    'frepo': {**CONV, 'frepo_models': 2, 'frepo_width': 8, 'frepo_depth': 1,
              'learning_rate': 1e-9},
    'dd': {**FC, 'dd_architecture': 'fc', 'dd_depth': 1, 'dd_width': 16, 'dd_inner_steps': 2},
}


@pytest.mark.parametrize('method', sorted(SMALL))
def test_every_method_trains_on_the_decoded_support(method, train_data):
    """A step from a stored set at factor 2 computes what a step at factor 1 computes from its
    decoded images: the same loss (and for FRePo the same online update of its pool)."""
    stored = DistillConfig.from_options({'method': method, 'images_per_class': 1, 'factor': 2,
                                         'target_batch_size': 6, **SMALL[method]})
    plain = dataclasses.replace(stored, factor=1)
    params = initial_params(stored, train_data)
    images, labels = formation.decode(params['images'], params['labels'], 2)
    rows = np.arange(0, 60, 10)
    batch = (train_data.images[rows], np.eye(3, dtype=np.float32)[train_data.labels[rows]] - 1 / 3)
    results = []
    for config, start in ((stored, params), (plain, {**params, 'images': images,
                                                     'labels': labels})):
        pair = config.algorithm.pair(config, 3, (8, 8, 1), None)
        results.append(jax.jit(pair.update)(pair.init(start), *batch))
    (state2, metrics2), (state1, metrics1) = results
    assert float(metrics2['loss']) == pytest.approx(float(metrics1['loss']), rel=1e-4)
    if method == 'frepo':
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=0, atol=2e-4),
                     state2.pool['theta'], state1.pool['theta'])
