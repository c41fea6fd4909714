"""Kernel Inducing Points (KIP) as a pure `init` / `update` pair.

KIP (Nguyen, Chen, Lee, ICLR 2021; Nguyen, Novak, Xiao, Lee, NeurIPS 2021) learns a
small support set (x_s, y_s) by gradient descent on the KRR loss of a real target
batch (x_t, y_t):

    loss = 0.5 * mean((K_ts (K_ss + reg tr(K_ss)/|S| I)^-1 y_s - y_t)^2)

Images, and optionally labels and the kernel's W_std / b_std, are the parameters;
Adam (optax) updates them; parameters not learned are frozen with
`optax.set_to_zero`, so the state has one shape whatever is learned.
"""
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from tfkip.distill.krr import accuracy, krr_predict, mse_loss

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
    """`init(params) -> KIPState`; `update(state, x_t, y_t) -> (KIPState, metrics)`."""
    init: Callable
    update: Callable


def kip_loss(params, target_images, target_labels, *, kernel_fn, reg):
    """KRR loss of the support set `params` on one target batch.

    Args:
      params: see KIPState.
      target_images: [T, H, W, C] float32.
      target_labels: [T, C] float32, centered one-hot.
      kernel_fn: `kernel_fn(x1, x2, hparams)`.
      reg: KRR ridge.

    Returns:
      (loss [] float, predictions [T, C]).
    """
    x_s, hparams = params['images'], params['hparams']
    k_ss = kernel_fn(x_s, x_s, hparams)
    k_ts = kernel_fn(target_images, x_s, hparams)
    predictions = krr_predict(k_ts, k_ss, params['labels'], reg)
    return mse_loss(predictions, target_labels), predictions


def kip(kernel_fn, *, learning_rate, reg, learn=('images',)):
    """Builds the KIP init/update pair.

    Args:
      kernel_fn: `kernel_fn(x1, x2, hparams) -> [N1, N2]` (tfkip.kernels.make_kernel_fn).
      learning_rate: Adam step size shared by all learned parameters: a float, or an
        optax schedule (step -> float).
      reg: KRR ridge relative to tr(K_ss)/|S|.
      learn: which of 'images', 'labels', 'hparams' to learn.

    Returns:
      A KIP pair; `update` is pure and jit-able.

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

    def update(state, target_images, target_labels):
        grad_fn = jax.value_and_grad(kip_loss, has_aux=True)
        (loss, predictions), grads = grad_fn(state.params, target_images, target_labels,
                                             kernel_fn=kernel_fn, reg=reg)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = {'loss': loss,
                   'accuracy': accuracy(predictions, jnp.argmax(target_labels, -1))}
        return KIPState(params, opt_state, state.step + 1), metrics

    return KIP(init, update)
