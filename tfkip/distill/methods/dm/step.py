"""Distribution matching (DM; Zhao and Bilen, WACV 2023) as a pure `init` / `update` pair.

Each step draws a fresh network (`tfkip.distill.convnet`, the `standard` protocol's ConvNet)
and moves the support images so that, class by class, the mean of their features matches
the mean of the real target batch's:

    loss = sum_c || mean_{x in T_c} phi(A(x)) - mean_{s in S_c} phi(A(s)) ||^2

with A the DSA augmentation (drawn per image, for real and synthetic images alike) when
augmentation is on. No inner training loop: the cheapest learned method. The labels stay the
support's one-hot classes. With a queue (IDM, Zhao et al. 2023) the network is drawn from a
pool of networks trained on the real targets as the steps go (`tfkip.distill.pool`), so the
features matched are those of networks at every stage of training, not only at
initialisation. Every draw comes from (seed, step), so a resumed run takes the steps an
uninterrupted one would.
"""
import jax
import jax.numpy as jnp

import optax

from tfkip.distill import convnet, distributed
from tfkip.distill.distributed import batch_mean
from tfkip.distill.optimizer import frozen, loss_pair, masked_optimizer
from tfkip.distill.pool import pool, pool_pair
from tfkip.distill.sampling import AUGMENT_STREAM, NETWORK_STREAM


def _devices(mesh):
    return 1 if mesh is None else mesh.size


def class_means(features, one_hot, weights=None, axis_name=None):
    """Per-class means of features: [N, F], one_hot [N, C], weights [N] -> ([C, F], [C]
    counts); inside `shard_map` over `axis_name`, of the whole batch."""
    if weights is not None:
        one_hot = one_hot * weights[:, None]
    sums, counts = one_hot.T @ features, jnp.sum(one_hot, 0)
    if axis_name is not None:
        sums, counts = jax.lax.psum((sums, counts), axis_name)
    return sums / jnp.maximum(counts, 1.)[:, None], counts


def channel_covariances(features, one_hot, means, counts, channels, weights=None,
                        axis_name=None):
    """Per-class covariances of the channels over images and positions (IID's "local"
    covariance): features [N, F] with F = positions * channels (channels last), one_hot
    [N, C], means [C, F] and counts [C] their `class_means` -> [C, channels, channels]:
    the mean over the class's images of sum over positions of (x - mean)(x - mean)^T."""
    if weights is not None:
        one_hot = one_hot * weights[:, None]
    local = features.reshape(features.shape[0], -1, channels)  # [N, P, channels]
    moments = jnp.einsum('nk,npc,npd->kcd', one_hot, local, local)
    if axis_name is not None:
        moments = jax.lax.psum(moments, axis_name)
    means = means.reshape(means.shape[0], -1, channels)
    return (moments / jnp.maximum(counts, 1.)[:, None, None]
            - jnp.einsum('kpc,kpd->kcd', means, means))


def dm_loss(support_images, support_labels, target_images, target_labels, target_weights,
            embed, axis_name=None, readout=None, ce_weight=0., cov_weight=0., channels=None):
    """DM's loss of one step.

    Args:
      support_images: [S, H, W, C]; support_labels: [S, K] centered one-hot.
      target_images: [T, H, W, C]; target_labels: [T, K] centered one-hot; target_weights:
        [T] float32, 1 for a target, 0 for padding.
      embed: `embed(images) -> [N, F]` features.
      axis_name: as for `kip_loss` (`methods/kip/step.py`).
      readout: `readout(features [N, F]) -> [N, K]` logits, for `ce_weight`.
      ce_weight: IDM's term: plus ce_weight * a * sum over classes of the mean cross-entropy
        of the class's support images, with a the network's accuracy on the targets (no
        gradient: a network that cannot classify the real images does not steer the set).
      cov_weight: IID's covariance matching (Deng et al. 2024): plus cov_weight * the
        summed squared distance of the real and support `channel_covariances` over the
        classes the batch holds (the mean alone leaves the spread of each class's features
        free; a covariance over positions is estimable from a few images).
      channels: the features' channels (their last axis before flattening), for
        `cov_weight`.

    Returns:
      (loss [] float: the summed squared distance of the class means over the classes the
       batch holds, {'accuracy': [] float: targets nearest their own class's support mean}).
    """
    num_classes = support_labels.shape[-1]
    real = embed(target_images)
    real_one_hot = target_labels + 1. / num_classes
    real_means, counts = class_means(real, real_one_hot, target_weights, axis_name)
    support = embed(support_images)
    support_one_hot = support_labels + 1. / num_classes
    support_means, support_counts = class_means(support, support_one_hot)
    present = (counts > 0).astype(real.dtype)
    loss = jnp.sum(present * jnp.sum((real_means - support_means) ** 2, -1))
    if cov_weight:
        real_cov = channel_covariances(real, real_one_hot, real_means, counts, channels,
                                       target_weights, axis_name)
        support_cov = channel_covariances(support, support_one_hot, support_means,
                                          support_counts, channels)
        loss = loss + cov_weight * jnp.sum(present * jnp.sum(
            (real_cov - support_cov) ** 2, (-2, -1)))
    distances = jnp.sum((real[:, None] - support_means[None]) ** 2, -1)  # [T, K]
    truth = jnp.argmax(target_labels, -1)
    correct = (jnp.argmin(distances, -1) == truth) * target_weights
    sums = {'correct': jnp.sum(correct), 'count': jnp.sum(target_weights)}
    if ce_weight:
        sums['network'] = jnp.sum((jnp.argmax(readout(real), -1) == truth) * target_weights)
    if axis_name is not None:
        sums = jax.lax.psum(sums, axis_name)
    if ce_weight:
        per_class = jnp.sum(support_one_hot, 0)[jnp.argmax(support_one_hot, -1)]  # [S]
        ce = optax.softmax_cross_entropy(readout(support), support_one_hot)
        accuracy = jax.lax.stop_gradient(sums['network'] / sums['count'])
        loss = loss + ce_weight * accuracy * jnp.sum(ce / per_class)
    return loss, {'accuracy': sums['correct'] / sums['count']}


def dm(network, num_classes, image_shape, *, learning_rate, augment=None, seed=0, mesh=None,
       factor=1, queue=0, queue_reset=100, queue_lr=0.01, queue_batch=0, ce_weight=0.,
       cov_weight=0., siamese=False, rule='adam'):
    """Builds the DM init/update pair (the support images learned by `rule`).

    Args:
      network: a `convnet.Network` (drawn afresh every step, or from the queue).
      num_classes, image_shape: K and (H, W, C_in).
      learning_rate: the step size of `rule` (a float or an optax schedule).
      augment: `augment(x, key) -> x` for real and support images, or None.
      seed: seeds each step's network and augmentation.
      mesh: a 1-D mesh to split the target batch over (as for `kip`), or None.
      factor: multi-formation of the stored support set (`tfkip.distill.formation`).
      queue: IDM's queue (Zhao et al. 2023), in the CPU form of a `pool` of this many
        networks: each step matches the features of one drawn from it, then trains that one
        SGD step (momentum 0.9, weight decay 5e-4, `queue_lr`) on the step's real targets
        (cross-entropy, not augmented); a network with `queue_reset` updates is replaced by a
        fresh one. 0: a fresh random network every step (DM).
      queue_batch: a queue network's SGD step takes every ceil(T / queue_batch)-th target of
        the step's (class-major) batch, about this many of every class in proportion (0: all T).
      ce_weight: IDM's cross-entropy term (`dm_loss`).
      cov_weight: IID's covariance term (`dm_loss`).
      siamese: DSA's Siamese augmentation, as the DM and IDM authors' code applies it: one
        transformation per class and step for its real and synthetic images alike (False:
        each image its own, real and synthetic drawn apart).
      rule: the images' update rule, a name in `optimizer.RULES` ('adam', or 'sgd' as the
        DM and IDM authors).

    Returns:
      A `Pair` over `optimizer.State` (queue 0) or `pool.PoolState`.
    """
    def objective(params, theta, target_images, target_labels, target_weights, key,
                  axis_name=None):
        params = frozen(params, ('images',))
        support = params['images']
        augment_key = jax.random.fold_in(key, AUGMENT_STREAM)
        if augment is not None and siamese:
            # One transformation per class, the same for its real and synthetic images (and
            # on every device): the key and the class decide it.
            classes = lambda labels: labels + 1. / num_classes  # centred one-hot -> one-hot
            support = augment(support, augment_key, classes(params['labels']))
            target_images = augment(target_images, augment_key, classes(target_labels))
        elif augment is not None:
            support = augment(support, augment_key)
            # Each device's targets draw their own augmentations.
            shard = jax.lax.axis_index(axis_name) if axis_name is not None else 0
            target_images = augment(target_images,
                                    jax.random.fold_in(jax.random.fold_in(augment_key, 1), shard))
        if target_weights is None:
            target_weights = jnp.ones(target_images.shape[:1], jnp.float32)
        embed = lambda x: convnet.features(theta, x, network.normalization)
        readout = lambda f: f @ theta['readout']['w'] + theta['readout']['b']
        return dm_loss(support, params['labels'], target_images, target_labels,
                       target_weights, embed, axis_name, readout, ce_weight, cov_weight,
                       network.width)

    if not queue:
        def drawn(params, *batch, axis_name=None):
            key = batch[-1]
            theta = network.init(jax.random.fold_in(key, NETWORK_STREAM), image_shape,
                                 num_classes)
            return objective(params, theta, *batch, axis_name=axis_name)

        return loss_pair(distributed.over_targets(drawn, mesh), learning_rate, ('images',),
                         lambda step: jax.random.fold_in(jax.random.key(seed), step), factor,
                         rule)

    optimizer = masked_optimizer(learning_rate, ('images',), rule)
    networks = pool(network, num_classes, image_shape,
                    optax.chain(optax.add_decayed_weights(5e-4), optax.sgd(queue_lr, 0.9)),
                    size=queue, reset_every=queue_reset, seed=seed)
    loss_fn = distributed.over_targets(objective, mesh, replicated=2)

    def real_loss(theta, target_images, target_labels, target_weights, key, axis_name=None):
        if queue_batch:  # on each device's rows: every stride-th of its class-major targets
            stride = -(-target_images.shape[0] * _devices(mesh) // queue_batch)
            target_images, target_labels = target_images[::stride], target_labels[::stride]
            target_weights = None if target_weights is None else target_weights[::stride]
        logits = convnet.apply(theta, target_images, network.normalization)
        one_hot = target_labels + 1. / num_classes
        return batch_mean(optax.softmax_cross_entropy(logits, one_hot),
                          jnp.argmax(logits, -1) == jnp.argmax(one_hot, -1), target_weights,
                          axis_name)

    real_grad = jax.grad(distributed.over_targets(real_loss, mesh), has_aux=True)
    network_grads = lambda theta, params, *batch: real_grad(theta, *batch)[0]
    return pool_pair(loss_fn, optimizer, networks, network_grads, seed=seed,
                     draw_stream=NETWORK_STREAM, factor=factor)
