"""Kernel Inducing Points (KIP) as a pure `init` / `update` pair.

KIP (Nguyen, Chen, Lee, ICLR 2021; Nguyen, Novak, Xiao, Lee, NeurIPS 2021) learns a
small support set (x_s, y_s) by gradient descent on the KRR loss of a real target
batch (x_t, y_t):

    loss = 0.5 * mean((K_ts (K_ss + reg tr(K_ss)/|S| I)^-1 y_s - y_t)^2)

Images, and optionally labels and the kernel's W_std / b_std, are the parameters;
Adam (optax) updates them; parameters not learned are frozen with
`optax.set_to_zero`, so the state has one shape whatever is learned. Given a mesh, one
step runs over all its devices (see `kip`); the result does not depend on the device count
beyond float rounding.

RFAD (Loo et al., NeurIPS 2022) is this loop with random-feature step kernels (fresh
networks every step, `step_kernels.random_features`) and, optionally, its Platt-scaled
cross-entropy loss with a learned temperature (`loss='platt'`).
"""
import jax
import jax.numpy as jnp
import optax

from tfkip.distill import distributed
from tfkip.distill.config import LOSSES
from tfkip.distill.krr import krr_predict
from tfkip.distill.optimizer import Pair, frozen, loss_pair
from tfkip.distill.sampling import AUGMENT_STREAM

LEARNABLE = ('images', 'labels', 'hparams', 'log_temperature')
# RFAD's Platt temperature starts here: centered one-hot targets put a confident KRR
# prediction about 1 above the others, which is then a logit margin of 10.
PLATT_TEMPERATURE = 0.1


def kip_loss(params, target_images, target_labels, target_weights=None, key=None, *,
             kernels, reg, loss='mse', augment=None, axis_name=None):
    """KRR loss of the support set `params` on one target batch.

    Args:
      params: {'images': [S, H, W, C] float32, 'labels': [S, C] float32,
        'hparams': {'W_std': [] float32, 'b_std': [] float32}, and with loss 'platt'
        'log_temperature': [] float32}.
      target_images: [T, H, W, C] float32.
      target_labels: [T, C] float32, centered one-hot.
      target_weights: [T] float32, 1 for a target, 0 for padding (None: all ones).
      key: PRNG key of the step's random draws (random-feature kernels), or None.
      kernels: step kernels (`tfkip.distill.step_kernels`), giving K_ss and K_ts.
      reg: KRR ridge.
      loss: 'mse', 0.5 * mean squared error of the KRR predictions; or 'platt', the
        cross-entropy of softmax(predictions / exp(params['log_temperature'])) (RFAD's
        Platt-scaled loss; the temperature is learned).
      augment: `augment(x_s, key) -> x_s` (`tfkip.augment.dsa.make_augment`), applied to the
        support images with a key drawn from `key` (differentiable: the images learn to
        survive it, the paper's "aug"), or None.
      axis_name: inside `shard_map`, the mesh axis the targets are split over: the
        support-side kernel work is split too and the sums are `psum`-ed, so the loss is
        the whole batch's on every device.

    Returns:
      (loss [] float, {'accuracy': [] float}) over the targets of weight 1.
    """
    x_s, hparams = params['images'], params['hparams']
    if augment is not None:
        # Its own stream: the random features' networks stay those of `key`.
        x_s = augment(x_s, jax.random.fold_in(key, AUGMENT_STREAM))
    k_ss, k_ts = kernels(x_s, target_images, hparams, key, axis_name)
    predictions = krr_predict(k_ts, k_ss, params['labels'], reg)
    num_classes = target_labels.shape[-1]
    if loss == 'platt':
        logits = predictions / jnp.exp(params['log_temperature'])
        per_target = optax.softmax_cross_entropy(logits, target_labels + 1.0 / num_classes)
    else:
        per_target = 0.5 * jnp.mean((predictions - target_labels) ** 2, axis=-1)
    correct = jnp.argmax(predictions, -1) == jnp.argmax(target_labels, -1)
    return distributed.batch_mean(per_target, correct, target_weights, axis_name)


def kip(kernels, *, learning_rate, reg, learn=('images',), loss='mse', augment=None, seed=0,
        mesh=None, factor=1):
    """Builds the KIP init/update pair (RFAD with random-feature step kernels).

    Args:
      kernels: step kernels: `step_kernels.exact(kernel_fn)` for KIP,
        `step_kernels.random_features(feature_fn)` for RFAD.
      learning_rate: Adam step size shared by all learned parameters: a float, or an
        optax schedule (step -> float).
      reg: KRR ridge relative to tr(K_ss)/|S|.
      learn: which of `LEARNABLE` to learn ('log_temperature' goes with loss 'platt').
      loss: 'mse' or 'platt' (see `kip_loss`).
      augment: differentiable augmentation of the support images (see `kip_loss`), or None.
      seed: seeds the random draws of each step (fresh networks for random features):
        step i uses `fold_in(key(seed), i)`, so a resumed run draws what an uninterrupted
        one would.
      mesh: a 1-D `jax.sharding.Mesh` (`tfkip.distill.distributed.target_mesh`) to split
        every step over: the target batch's rows and the support-side kernel work across
        its devices, the loss and the gradients combined with collectives, the KRR solve
        and the Adam update replicated. The batch must then be a multiple of the device
        count (pad it with weight-0 targets). None: one device.
      factor: multi-formation of the stored support set (`tfkip.distill.formation`).

    Returns:
      A `Pair` over `optimizer.State`; `update(state, x_t, y_t, weights=None)` is pure and
      jit-able.

    Example:
      >>> import numpy as np
      >>> from tfkip.distill import centered_one_hot, step_kernels
      >>> from tfkip.kernels import KernelConfig, make_kernel_fn
      >>> config = KernelConfig('fc', depth=1)
      >>> pair = kip(step_kernels.exact(make_kernel_fn(config, 2)), learning_rate=0.01,
      ...            reg=1e-6)
      >>> x = np.random.default_rng(0).normal(size=(6, 4, 4, 1)).astype(np.float32)
      >>> y = centered_one_hot(np.array([0, 1, 0, 1, 0, 1]), 2)
      >>> state = pair.init({'images': x[:2], 'labels': y[:2],
      ...                    'hparams': config.initial_hparams()})
      >>> state, metrics = jax.jit(pair.update)(state, x, y)
      >>> int(state.step), bool(metrics['loss'] > 0)
      (1, True)
    """
    unknown = set(learn) - set(LEARNABLE)
    if unknown:
        raise ValueError(f'cannot learn {sorted(unknown)}; choose from {LEARNABLE}')
    if loss not in LOSSES:
        raise ValueError(f'unknown loss {loss!r}; choose one of {LOSSES}')

    def objective(params, *batch, **kwargs):
        return kip_loss(frozen(params, learn), *batch, kernels=kernels, reg=reg, loss=loss,
                        augment=augment, **kwargs)

    pair = loss_pair(distributed.over_targets(objective, mesh), learning_rate, learn,
                     lambda step: jax.random.fold_in(jax.random.key(seed), step), factor)

    def init(params):
        if loss == 'platt' and 'log_temperature' not in params:
            raise ValueError("loss 'platt' needs params['log_temperature'] (e.g. "
                             'log(PLATT_TEMPERATURE))')
        return pair.init(params)

    return Pair(init, pair.update)
