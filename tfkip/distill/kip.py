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
"""
import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import PartitionSpec as P

from tfkip.distill.krr import krr_predict

LEARNABLE = ('images', 'labels', 'hparams')


class KIPState(NamedTuple):
    """KIP state.

    params: {'images': [S, H, W, C] float32, 'labels': [S, C] float32,
             'hparams': {'W_std': [] float32, 'b_std': [] float32}}
    opt_state: the optax state of `params`.
    step: [] int32, updates applied so far.
    """
    params: Any
    opt_state: optax.OptState
    step: jax.Array


class KIP(NamedTuple):
    """`init(params) -> KIPState`;
    `update(state, x_t, y_t, weights=None) -> (KIPState, {'loss', 'accuracy'})`."""
    init: Callable
    update: Callable


def support_kernel(x_s, hparams, kernel_fn, axis_name=None):
    """K_ss: [S, S] for support images x_s: [S, H, W, C].

    Under `shard_map` over `axis_name` (n devices), each device computes ceil(S / n) rows
    and the rows are all-gathered, so the support-side kernel work is split rather than
    repeated on every device.
    """
    if axis_name is None:
        return kernel_fn(x_s, x_s, hparams)
    n, size = jax.lax.axis_size(axis_name), x_s.shape[0]
    rows = -(-size // n)
    padded = jnp.concatenate([x_s, jnp.repeat(x_s[-1:], rows * n - size, axis=0)])
    mine = jax.lax.dynamic_slice_in_dim(padded, jax.lax.axis_index(axis_name) * rows, rows)
    k_rows = kernel_fn(mine, x_s, hparams)  # [rows, S]
    # 'invarying': every device holds the same K_ss, so the KRR solve is replicated and the
    # gradient flows back as each device's slice of the summed cotangent.
    return jax.lax.all_gather(k_rows, axis_name, tiled=True, to='invarying')[:size]


def kip_loss(params, target_images, target_labels, target_weights=None, *, kernel_fn, reg,
             axis_name=None):
    """KRR loss of the support set `params` on one target batch.

    Args:
      params: see KIPState.
      target_images: [T, H, W, C] float32.
      target_labels: [T, C] float32, centered one-hot.
      target_weights: [T] float32, 1 for a target, 0 for padding (None: all ones).
      kernel_fn: `kernel_fn(x1, x2, hparams)`.
      reg: KRR ridge.
      axis_name: inside `shard_map`, the mesh axis the targets are split over: the
        support kernel is split too (`support_kernel`) and the sums are `psum`-ed, so the
        loss is the whole batch's on every device.

    Returns:
      (loss [] float, {'accuracy': [] float}) over the targets of weight 1.
    """
    x_s, hparams = params['images'], params['hparams']
    if target_weights is None:
        target_weights = jnp.ones(target_images.shape[:1], target_labels.dtype)
    k_ss = support_kernel(x_s, hparams, kernel_fn, axis_name)
    k_ts = kernel_fn(target_images, x_s, hparams)
    predictions = krr_predict(k_ts, k_ss, params['labels'], reg)
    sums = {'squared_error': jnp.sum(target_weights[:, None] * (predictions - target_labels) ** 2),
            'correct': jnp.sum(target_weights * (jnp.argmax(predictions, -1)
                                                 == jnp.argmax(target_labels, -1))),
            'count': jnp.sum(target_weights)}
    if axis_name is not None:
        sums = jax.lax.psum(sums, axis_name)
    loss = 0.5 * sums['squared_error'] / (sums['count'] * target_labels.shape[-1])
    return loss, {'accuracy': sums['correct'] / sums['count']}


def kip(kernel_fn, *, learning_rate, reg, learn=('images',), mesh=None):
    """Builds the KIP init/update pair.

    Args:
      kernel_fn: `kernel_fn(x1, x2, hparams) -> [N1, N2]` (tfkip.kernels.make_kernel_fn).
      learning_rate: Adam step size shared by all learned parameters: a float, or an
        optax schedule (step -> float).
      reg: KRR ridge relative to tr(K_ss)/|S|.
      learn: which of 'images', 'labels', 'hparams' to learn.
      mesh: a 1-D `jax.sharding.Mesh` (`tfkip.distill.distributed.target_mesh`) to split
        every step over: the target batch's rows (K_ts) and the support kernel's rows
        across its devices, the loss and the gradients combined with collectives, the
        KRR solve and the Adam update replicated. The batch must then be a multiple of
        the device count (pad it with weight-0 targets). None: one device.

    Returns:
      A KIP pair; `update(state, x_t, y_t, weights=None)` is pure and jit-able.

    Example:
      >>> import numpy as np
      >>> from tfkip.distill import centered_one_hot
      >>> from tfkip.kernels import KernelConfig, make_kernel_fn
      >>> config = KernelConfig('fc', depth=1)
      >>> pair = kip(make_kernel_fn(config, 2), learning_rate=0.01, reg=1e-6)
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
    optimizer = optax.multi_transform(
        {'learn': optax.adam(learning_rate), 'freeze': optax.set_to_zero()},
        lambda params: {name: jax.tree.map(lambda _: 'learn' if name in learn else 'freeze',
                                           value) for name, value in params.items()})

    def init(params):
        return KIPState(params, optimizer.init(params), jnp.zeros([], jnp.int32))

    loss_fn = functools.partial(kip_loss, kernel_fn=kernel_fn, reg=reg)
    if mesh is not None:
        axis, = mesh.axis_names
        loss_fn = jax.shard_map(functools.partial(loss_fn, axis_name=axis), mesh=mesh,
                                in_specs=(P(), P(axis), P(axis), P(axis)), out_specs=P())

    def update(state, target_images, target_labels, target_weights=None):
        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, target_images, target_labels, target_weights)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return KIPState(params, opt_state, state.step + 1), {'loss': loss, **metrics}

    return KIP(init, update)
