"""FRePo (Zhou, Nezhadarya, Ba, NeurIPS 2022): KIP's loss on the features of finite ConvNets
trained online on the support set, as a pure `init` / `update` pair.

A pool of M networks (`tfkip.distill.convnet`) is kept beside the support set. Each step:

1. draws one network i of the pool;
2. takes KIP's loss (`kip_loss` of `methods/kip/step.py`, KRR with K = phi phi^T) on the
   network's features phi of the support and target images, the network held fixed, and
   updates the support images (and labels) with Adam;
3. trains network i one Adam step on the updated support set (MSE to its labels, the
   support augmented if augmentation is on) and counts its updates; a network with
   `reset_every` updates is replaced by a fresh one.

So the kernel is that of networks at every stage of training on the distilled set, not of
the infinite-width limit. The pool starts fresh with staggered ages (network j has had
j * reset_every / M updates counted), so its resets spread over the steps. Every draw comes
from (seed, step): a resumed run takes the steps an uninterrupted one would.
"""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from tfkip.distill import convnet, distributed, step_kernels
from tfkip.distill.methods.kip.step import kip_loss
from tfkip.distill.formation import decoded
from tfkip.distill.optimizer import Pair, frozen, masked_adam
from tfkip.distill.sampling import AUGMENT_STREAM, POOL_STREAM

LEARNABLE = ('images', 'labels')


class FRePoState(NamedTuple):
    """FRePo state.

    params: {'images': [S, H, W, C] float32, 'labels': [S, C] float32, 'hparams': ...}.
    opt_state: the Adam state of `params`.
    step: [] int32, updates applied so far.
    pool: {'theta': the M networks' parameters, each leaf with a leading [M] axis,
           'opt_state': their Adam states, stacked likewise, 'age': [M] int32 updates since
           each network's reset}.
    """
    params: Any
    opt_state: optax.OptState
    step: jax.Array
    pool: Any


def frepo(network, num_classes, image_shape, *, learning_rate, reg, pool_size, reset_every,
          online_learning_rate, learn=('images', 'labels'), augment=None, seed=0, mesh=None,
          factor=1):
    """Builds the FRePo init/update pair.

    Args:
      network: the pool's `convnet.Network`.
      num_classes, image_shape: C and (H, W, C_in).
      learning_rate: Adam step size of the support set (a float or an optax schedule).
      reg: KRR ridge relative to tr(K_ss)/|S|.
      learn: which of `LEARNABLE` to learn.
      pool_size: M, networks in the pool.
      reset_every: online updates after which a network is replaced by a fresh one.
      online_learning_rate: the pool's Adam step size.
      augment: `augment(x, key) -> x` applied to the support images when a network trains
        on them, or None.
      seed: seeds the pool and each step's draws.
      mesh: a 1-D mesh to split the target batch over (as for `kip`), or None.
      factor: multi-formation of the stored support set (`tfkip.distill.formation`): the
        loss and the pool's training see its training images.

    Returns:
      A `Pair` over `FRePoState`; `update(state, x_t, y_t, weights=None) -> (state,
      {'loss', 'accuracy'})`.
    """
    unknown = set(learn) - set(LEARNABLE)
    if unknown:
        raise ValueError(f'cannot learn {sorted(unknown)}; choose from {LEARNABLE}')
    optimizer, online = masked_adam(learning_rate, learn), optax.adam(online_learning_rate)
    pool_key = jax.random.fold_in(jax.random.key(seed), POOL_STREAM)
    norm = network.normalization

    def fresh(index):
        theta = network.init(jax.random.fold_in(pool_key, index), image_shape, num_classes)
        return theta, online.init(theta)

    def objective(params, theta, target_images, target_labels, target_weights, key,
                  axis_name=None):
        features = lambda x, key, hparams: convnet.features(theta, x, norm)
        return kip_loss(frozen(decoded(params, factor), learn), target_images, target_labels,
                        target_weights, key, kernels=step_kernels.random_features(features),
                        reg=reg, axis_name=axis_name)

    loss_fn = distributed.over_targets(objective, mesh, replicated=2)

    def online_loss(theta, images, labels, key):
        if augment is not None:
            images = augment(images, key)
        return 0.5 * jnp.mean(jnp.sum((convnet.apply(theta, images, norm) - labels) ** 2, -1))

    def init(params):
        theta, opt_state = jax.vmap(fresh)(jnp.arange(pool_size))
        age = (jnp.arange(pool_size) * reset_every // pool_size).astype(jnp.int32)
        return FRePoState(params, optimizer.init(params), jnp.zeros([], jnp.int32),
                          {'theta': theta, 'opt_state': opt_state, 'age': age})

    def update(state, target_images, target_labels, target_weights=None):
        key = jax.random.fold_in(jax.random.key(seed), state.step)
        i = jax.random.randint(jax.random.fold_in(key, 0), (), 0, pool_size)
        pick = lambda tree: jax.tree.map(lambda a: a[i], tree)
        theta, theta_opt = pick(state.pool['theta']), pick(state.pool['opt_state'])
        (value, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, theta, target_images, target_labels, target_weights, key)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)

        support = decoded(params, factor)
        online_grads = jax.grad(online_loss)(theta, support['images'], support['labels'],
                                             jax.random.fold_in(key, AUGMENT_STREAM))
        online_updates, theta_opt = online.update(online_grads, theta_opt, theta)
        theta = optax.apply_updates(theta, online_updates)
        age = state.pool['age'][i] + 1
        reset = age >= reset_every
        # Drawn only on a reset; a replacement's index is unique to (step): pool_size + step.
        theta, theta_opt = jax.lax.cond(reset, lambda: fresh(pool_size + state.step),
                                        lambda: (theta, theta_opt))
        put = lambda tree, leaf: jax.tree.map(lambda a, b: a.at[i].set(b), tree, leaf)
        pool = {'theta': put(state.pool['theta'], theta),
                'opt_state': put(state.pool['opt_state'], theta_opt),
                'age': state.pool['age'].at[i].set(jnp.where(reset, 0, age))}
        return FRePoState(params, opt_state, state.step + 1, pool), {'loss': value, **metrics}

    return Pair(init, update)
