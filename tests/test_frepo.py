"""FRePo: KRR on the pool's features, the pool's online training and resets, the loop."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tfkip.distill import convnet
from tfkip.distill.convnet import Network
from tfkip.distill.methods.frepo.step import frepo
from tfkip.distill.krr import centered_one_hot
from tfkip.distill.methods.frepo import FRePoOptions
from tfkip.distill.train import DistillConfig
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import KernelConfig

from conftest import run_distill, run_resumed

NETWORK = Network(width=8, depth=1)
# The pool's other options, at the method's defaults.
ONLINE = {'reset_every': FRePoOptions().frepo_reset,
          'online_learning_rate': FRePoOptions().frepo_online_lr}
FREPO = DistillConfig(KernelConfig('convnet', depth=1), method='frepo', images_per_class=2,
                      steps=6, learning_rate=0.01, target_batch_size=30,
                      options=FRePoOptions(frepo_models=2, frepo_reset=3, frepo_width=8,
                                           frepo_depth=1),
                      eval_every=0, checkpoint_every=2, log_every=1)


def _params(train, per_class=2):
    rows = np.concatenate([np.flatnonzero(train.labels == c)[:per_class] for c in range(3)])
    return {'images': jnp.asarray(train.images[rows]),
            'labels': centered_one_hot(train.labels[rows], 3),
            'hparams': KernelConfig().initial_hparams()}


def test_the_loss_is_krr_on_the_network_features_solved_directly(train_data):
    pair = frepo(NETWORK, 3, (8, 8, 1), learning_rate=0.01, reg=1e-3, pool_size=1, **ONLINE)
    state = pair.init(_params(train_data))
    x_t, y_t = train_data.images[::4], centered_one_hot(train_data.labels[::4], 3)
    _, metrics = jax.jit(pair.update)(state, x_t, y_t)

    theta = jax.tree.map(lambda a: np.asarray(a[0], np.float64), state.pool['theta'])
    phi = lambda x: np.asarray(convnet.features(theta, np.asarray(x, np.float64)))
    with jax.enable_x64():
        phi_s, phi_t = phi(state.params['images']), phi(x_t)
    k_ss, k_ts = phi_s @ phi_s.T, phi_t @ phi_s.T
    ridge = 1e-3 * np.trace(k_ss) / len(k_ss) * np.eye(len(k_ss))
    predictions = k_ts @ np.linalg.solve(k_ss + ridge, np.asarray(state.params['labels']))
    expected = 0.5 * np.mean((predictions - np.asarray(y_t)) ** 2)
    np.testing.assert_allclose(metrics['loss'], expected, rtol=1e-3)
    np.testing.assert_allclose(metrics['accuracy'],
                               np.mean(predictions.argmax(1) == np.asarray(y_t).argmax(1)))


def test_the_drawn_network_trains_on_the_set_and_is_reset_after_reset_every(train_data):
    pair = frepo(NETWORK, 3, (8, 8, 1), learning_rate=0.01, reg=1e-3, pool_size=1,
                 reset_every=3, online_learning_rate=ONLINE['online_learning_rate'])
    update = jax.jit(pair.update)
    state = pair.init(_params(train_data))
    x_t, y_t = train_data.images[::4], centered_one_hot(train_data.labels[::4], 3)
    online_loss = lambda s: 0.5 * jnp.mean(jnp.sum((convnet.apply(
        jax.tree.map(lambda a: a[0], s.pool['theta']), s.params['images'])
        - s.params['labels']) ** 2, -1))
    ages, losses, thetas = [], [online_loss(state)], [state.pool['theta']]
    for _ in range(4):
        state, _ = update(state, x_t, y_t)
        ages.append(int(state.pool['age'][0]))
        losses.append(online_loss(state))
        thetas.append(state.pool['theta'])
    assert ages == [1, 2, 0, 1]
    assert losses[2] < losses[1] < losses[0]  # two Adam steps on the set
    same = lambda a, b: all(np.array_equal(x, y) for x, y in
                            zip(jax.tree.leaves(a), jax.tree.leaves(b)))
    assert not same(thetas[3], thetas[2]) and not same(thetas[3], thetas[0])  # a new network
    assert losses[3] > losses[2]


def test_the_pool_starts_with_staggered_ages(train_data):
    pair = frepo(NETWORK, 3, (8, 8, 1), learning_rate=0.01, reg=1e-3, pool_size=4,
                 **ONLINE)
    state = pair.init(_params(train_data))
    np.testing.assert_array_equal(state.pool['age'], [0, 25, 50, 75])
    first = [np.asarray(w) for w in state.pool['theta']['blocks'][0]['w']]
    assert not np.allclose(first[0], first[1])  # different networks


@pytest.mark.slow
def test_frepo_lowers_its_loss_resumes_exactly_and_is_evaluated_by_krr(train_data, test_data,
                                                                       tmp_path):
    straight = run_distill(dataclasses.replace(FREPO, steps=12), train_data, eval_data=test_data)
    losses = [r['loss'] for r in straight.metadata.losses]
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    assert straight.metadata.metrics['accuracy'] > 0.5
    assert not np.allclose(straight.labels, centered_one_hot(np.repeat(np.arange(3), 2), 3))
    whole = run_distill(FREPO, train_data)
    resumed = run_resumed(FREPO, train_data, tmp_path, stop=4)
    np.testing.assert_array_equal(resumed.images, whole.images)
    np.testing.assert_array_equal(resumed.labels, whole.labels)


@pytest.mark.parametrize('change,message', [
    ({'frepo_models': 0}, 'frepo_models'), ({'frepo_online_lr': 0.0}, 'frepo_online_lr'),
    ({'frepo_normalization': 'batch'}, 'unknown frepo_normalization'),
])
def test_bad_frepo_options_are_clear_errors(change, message):
    with pytest.raises(TfkipError, match=message):
        dataclasses.replace(FREPO, options=dataclasses.replace(FREPO.options, **change))


def test_frepo_refuses_what_it_cannot_do():
    with pytest.raises(TfkipError, match='no kernel hyperparameters'):
        dataclasses.replace(FREPO, learn_hparams=True)
    with pytest.raises(TfkipError, match="loss 'platt' does not apply"):
        dataclasses.replace(FREPO, loss='platt')
    with pytest.raises(ValueError, match='cannot learn'):
        frepo(NETWORK, 3, (8, 8, 1), learning_rate=0.1, reg=1e-6, pool_size=1, **ONLINE,
              learn=('hparams',))
