"""Classic dataset distillation (Wang et al. 2018): the unrolled inner loop, learning, modes."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tfkip.distill.methods.dd.step import (Network, dd, raw_step_sizes, target_distribution,
                              unrolled_training)
from tfkip.distill.krr import centered_one_hot
from tfkip.distill.methods.dd import DDOptions
from tfkip.distill.train import DistillConfig
from tfkip.errors import TfkipError
from tfkip.kernels.architectures import FC
from tfkip.kernels.kernel import KernelConfig

from conftest import run_distill, run_resumed

DD = DistillConfig(KernelConfig('fc', depth=1), method='dd', images_per_class=1, steps=8,
                   learning_rate=0.05, target_batch_size=30, learn_labels=False,
                   options=DDOptions(dd_architecture='fc', dd_depth=1, dd_width=16,
                                     dd_inner_steps=3, dd_step_size=1.0),
                   eval_every=0, checkpoint_every=2, log_every=1)


@pytest.mark.slow
def test_unrolled_training_is_plain_gradient_descent_and_checkpointing_changes_nothing():
    init_fn, apply_fn, _ = FC(1, num_classes=2, width=8)
    _, theta = init_fn(jax.random.key(0), (-1, 2, 2, 1))
    x = jax.random.normal(jax.random.key(1), (4, 2, 2, 1))
    y = centered_one_hot(jnp.array([0, 1, 0, 1]), 2)

    def by_hand(images):  # two steps of size 0.3 on the cross-entropy; no scan, no remat
        loss = lambda t: jnp.mean(optax.softmax_cross_entropy(apply_fn(t, images),
                                                              target_distribution(y)))
        t = theta
        for _ in range(2):
            t = jax.tree.map(lambda p, g: p - 0.3 * g, t, jax.grad(loss)(t))
        return t

    def ours(images):
        return unrolled_training(apply_fn, theta, images, y, raw_step_sizes(0.3, 2))

    for a, b in zip(jax.tree.leaves(ours(x)), jax.tree.leaves(by_hand(x))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The meta-gradient through the checkpointed scan is the one through the plain loop.
    meta = lambda train: jax.grad(lambda im: jnp.sum(apply_fn(train(im), x) ** 2))(x)
    np.testing.assert_allclose(meta(ours), meta(by_hand), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(target_distribution(y).argmax(1), [0, 1, 0, 1])


@pytest.mark.slow
def test_dd_lowers_the_outer_loss_and_learns_step_sizes(train_data, test_data):
    result = run_distill(dataclasses.replace(DD, steps=30), train_data, eval_data=test_data)
    losses = [r['loss'] for r in result.metadata.losses]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    sizes = result.metadata.extra['dd_step_sizes']
    assert len(sizes) == 3 and all(s > 0 for s in sizes) and sizes != pytest.approx([1.0] * 3)
    assert result.metadata.metrics['accuracy'] > 0.5  # evaluated by KRR like every set
    fresh = result.metadata.extra['dd_fresh_network_accuracy']  # and by DD's own inner loop
    assert len(fresh) == 3 and all(a > 1 / 3 for a in fresh)


@pytest.mark.slow
def test_fixed_labels_stay_fixed_and_fixed_init_differs_from_random_init(train_data):
    random_init = run_distill(DD, train_data)
    np.testing.assert_allclose(random_init.labels.sum(1), 0, atol=1e-6)
    assert set(np.round(random_init.labels.max(1), 5)) == {np.float32(2 / 3).round(5)}
    fixed = run_distill(dataclasses.replace(
        DD, options=dataclasses.replace(DD.options, dd_random_init=False)), train_data)
    assert not np.allclose(fixed.images, random_init.images)


@pytest.mark.slow
def test_dd_resume_is_exact(train_data, tmp_path):
    straight = run_distill(DD, train_data)
    resumed = run_resumed(DD, train_data, tmp_path, stop=4)
    np.testing.assert_array_equal(resumed.images, straight.images)


def test_dd_pair_rejects_unknown_parameters():
    with pytest.raises(ValueError, match='cannot learn'):
        dd(Network('fc', 1, 4), 3, (4, 4, 1), learning_rate=0.1, learn=('images', 'hparams'))


@pytest.mark.parametrize('change,message', [
    ({'dd_architecture': 'resnet'}, 'unknown dd_architecture'),
    ({'dd_inner_steps': 0}, 'dd_inner_steps'), ({'dd_step_size': 0.0}, 'dd_step_size'),
])
def test_bad_dd_settings_are_clear_errors(change, message):
    with pytest.raises(TfkipError, match=message):
        dataclasses.replace(DD, options=dataclasses.replace(DD.options, **change))
