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
the infinite-width limit (the pool, with its staggered ages: `tfkip.distill.pool`). Every draw
comes from (seed, step): a resumed run takes the steps an uninterrupted one would.
"""
import jax
import jax.numpy as jnp
import optax

from tfkip.distill import convnet, distributed, step_kernels
from tfkip.distill.methods.kip.step import kip_loss
from tfkip.distill.formation import decoded
from tfkip.distill.optimizer import frozen, masked_optimizer
from tfkip.distill.pool import pool, pool_pair
from tfkip.distill.sampling import AUGMENT_STREAM

LEARNABLE = ('images', 'labels')


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
      A `Pair` over `pool.PoolState`; `update(state, x_t, y_t, weights=None) -> (state,
      {'loss', 'accuracy'})`.
    """
    unknown = set(learn) - set(LEARNABLE)
    if unknown:
        raise ValueError(f'cannot learn {sorted(unknown)}; choose from {LEARNABLE}')
    optimizer = masked_optimizer(learning_rate, learn)
    networks = pool(network, num_classes, image_shape, optax.adam(online_learning_rate),
                    size=pool_size, reset_every=reset_every, seed=seed)
    norm = network.normalization

    def objective(params, theta, target_images, target_labels, target_weights, key,
                  axis_name=None):
        features = lambda x, key, hparams: convnet.features(theta, x, norm)
        return kip_loss(frozen(params, learn), target_images, target_labels,
                        target_weights, key, kernels=step_kernels.random_features(features),
                        reg=reg, axis_name=axis_name)

    loss_fn = distributed.over_targets(objective, mesh, replicated=2)

    def online_loss(theta, images, labels, key):
        if augment is not None:
            images = augment(images, key)
        return 0.5 * jnp.mean(jnp.sum((convnet.apply(theta, images, norm) - labels) ** 2, -1))

    def network_grads(theta, params, target_images, target_labels, target_weights, key):
        support = decoded(params, factor)
        return jax.grad(online_loss)(theta, support['images'], support['labels'],
                                     jax.random.fold_in(key, AUGMENT_STREAM))

    return pool_pair(loss_fn, optimizer, networks, network_grads, seed=seed, draw_stream=0,
                     factor=factor)
