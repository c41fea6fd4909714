"""A pool of finite networks kept beside the support set and trained as distillation goes:
FRePo's networks trained online on the set, IDM's queue of networks trained on real data.

Each step a method draws one network of the pool (`draw`), uses it, and trains it one
optimizer step (`train`); a network that has had `reset_every` updates is replaced by a fresh
one. Ages start staggered (network j as if it had had j * reset_every / M updates), so the
resets spread over the steps and the pool always holds networks at every stage of training.
Network j < M starts from index j; a replacement at step s from index M + s: every network
comes from (seed, index) alone, so a resumed run draws what an uninterrupted one would. The
pool is part of the method's state, hence of its checkpoints.
"""
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from tfkip.distill.formation import decoded
from tfkip.distill.optimizer import Pair
from tfkip.distill.sampling import POOL_STREAM


class PoolState(NamedTuple):
    """The state of a method with a pool.

    params: {'images': [S, H, W, C] float32, 'labels': [S, C] float32, 'hparams': ...}.
    opt_state: the optax state of `params`.
    step: [] int32, updates applied so far.
    pool: {'theta': the M networks' parameters, each leaf with a leading [M] axis,
           'opt_state': their optimizer states, stacked likewise, 'age': [M] int32 updates
           since each network's reset}.
    """
    params: Any
    opt_state: optax.OptState
    step: jax.Array
    pool: Any


class Pool(NamedTuple):
    """`init() -> pool`; `draw(pool, key) -> (i, theta, opt_state)`;
    `train(pool, i, theta, opt_state, grads, step) -> pool` (one update of network i, reset
    when due)."""
    init: Callable
    draw: Callable
    train: Callable


def pool(network, num_classes, image_shape, optimizer, *, size, reset_every, seed):
    """A pool of `size` networks.

    Args:
      network: a `convnet.Network`.
      num_classes, image_shape: K and (H, W, C_in).
      optimizer: an optax GradientTransformation training each network.
      size: M, networks in the pool.
      reset_every: updates after which a network is replaced by a fresh one.
      seed: seeds every network (with `POOL_STREAM`).
    """
    key = jax.random.fold_in(jax.random.key(seed), POOL_STREAM)

    def fresh(index):
        theta = network.init(jax.random.fold_in(key, index), image_shape, num_classes)
        return theta, optimizer.init(theta)

    def init():
        theta, opt_state = jax.vmap(fresh)(jnp.arange(size))
        age = (jnp.arange(size) * reset_every // size).astype(jnp.int32)
        return {'theta': theta, 'opt_state': opt_state, 'age': age}

    def draw(state, draw_key):
        i = jax.random.randint(draw_key, (), 0, size)
        pick = lambda tree: jax.tree.map(lambda a: a[i], tree)
        return i, pick(state['theta']), pick(state['opt_state'])

    def train(state, i, theta, opt_state, grads, step):
        updates, opt_state = optimizer.update(grads, opt_state, theta)
        theta = optax.apply_updates(theta, updates)
        age = state['age'][i] + 1
        reset = age >= reset_every
        # Drawn only on a reset; a replacement's index is unique to (step): size + step.
        theta, opt_state = jax.lax.cond(reset, lambda: fresh(size + step),
                                        lambda: (theta, opt_state))
        put = lambda tree, leaf: jax.tree.map(lambda a, b: a.at[i].set(b), tree, leaf)
        return {'theta': put(state['theta'], theta),
                'opt_state': put(state['opt_state'], opt_state),
                'age': state['age'].at[i].set(jnp.where(reset, 0, age))}

    return Pool(init, draw, train)


def pool_pair(loss_fn, optimizer, networks, network_grads, *, seed, draw_stream, factor=1):
    """The init/update pair of a method with a pool, over `PoolState`. Each step draws a
    network (with `fold_in(step key, draw_stream)`), updates the params with `optimizer` on
    `loss_fn(params, theta, x_t, y_t, weights, key) -> (loss, metrics)` (the params decoded at
    `factor`, as `loss_pair`'s), then trains the network one step on
    `network_grads(theta, updated params, x_t, y_t, weights, key)`."""
    def init(params):
        return PoolState(params, optimizer.init(params), jnp.zeros([], jnp.int32),
                         networks.init())

    def update(state, target_images, target_labels, target_weights=None):
        key = jax.random.fold_in(jax.random.key(seed), state.step)
        i, theta, theta_opt = networks.draw(state.pool, jax.random.fold_in(key, draw_stream))
        (value, metrics), grads = jax.value_and_grad(
            lambda params, *args: loss_fn(decoded(params, factor), *args), has_aux=True)(
            state.params, theta, target_images, target_labels, target_weights, key)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        grads = network_grads(theta, params, target_images, target_labels, target_weights, key)
        pool_state = networks.train(state.pool, i, theta, theta_opt, grads, state.step)
        return PoolState(params, opt_state, state.step + 1, pool_state), {'loss': value,
                                                                          **metrics}

    return Pair(init, update)
