"""Kernel ridge regression (KRR) with the trace-scaled ridge of the KIP papers.

    predictions = K_ts (K_ss + reg * tr(K_ss) / |S| * I)^-1 y_s

Numerics: K_ss is symmetrized, the ridge is scaled by the mean eigenvalue
tr(K_ss)/|S| so `reg` is unit-free (the condition number is at most |S|/reg + 1),
and the system is solved by Cholesky (differentiable; the backward pass reuses the
factor). KIP trains in the kernel's dtype (float32 by default; `jax.enable_x64` for
float64); `evaluate` always solves in float64. A failed Cholesky shows up as NaN, which
`evaluate` and the training loop turn into an error that says to raise `reg`.
"""
import jax
import jax.numpy as jnp
import numpy as np

from tfkip.kernels.kernel import kernel_matrix_in_chunks


def centered_one_hot(labels, num_classes):
    """labels: [N] int -> [N, C] float32, one-hot minus 1/C (the KIP label encoding)."""
    return (jax.nn.one_hot(labels, num_classes, dtype=jnp.float32) - 1.0 / num_classes)


def regularized(k_ss, reg):
    """k_ss: [S, S] -> symmetrized K_ss + reg * tr(K_ss)/S * I."""
    n = k_ss.shape[0]
    k_ss = 0.5 * (k_ss + k_ss.T)
    return k_ss + reg * jnp.trace(k_ss) / n * jnp.eye(n, dtype=k_ss.dtype)


def krr_weights(k_ss, y_s, reg):
    """Dual weights (K_ss + reg tr(K_ss)/S I)^-1 y_s.

    Args:
      k_ss: [S, S] kernel of the support set.
      y_s: [S, C] support labels.
      reg: ridge, relative to the mean eigenvalue of k_ss.

    Returns:
      [S, C] in the dtype of k_ss.
    """
    # assume_a='pos': Cholesky, and a gradient that reuses the factor (custom_linear_solve).
    k_reg = regularized(k_ss, reg)
    return jax.scipy.linalg.solve(k_reg, y_s.astype(k_reg.dtype), assume_a='pos')


def krr_predict(k_ts, k_ss, y_s, reg):
    """k_ts: [T, S], k_ss: [S, S], y_s: [S, C] -> predictions [T, C]."""
    return k_ts @ krr_weights(k_ss, y_s, reg)


def evaluate(kernel_fn, hparams, support_images, support_labels, images, labels, *,
             reg, chunk_size=8192):
    """KRR accuracy and MSE of a support set on labelled images, solved in float64.

    Args:
      kernel_fn: `kernel_fn(x1, x2, hparams)` from `tfkip.kernels.make_kernel_fn`.
      hparams: its hyperparameters.
      support_images: [S, H, W, C] float32; support_labels: [S, C] float32.
      images: [T, H, W, C] float32; labels: [T] int.
      reg: KRR ridge (see module docstring).
      chunk_size: test rows per kernel call (bounds device memory).

    Returns:
      {'accuracy': float, 'mse': float}, MSE against centered one-hot targets.

    Raises:
      FloatingPointError: the regularized support kernel is singular in float64.
    """
    fn = jax.jit(kernel_fn)
    k_ss = kernel_matrix_in_chunks(fn, support_images, support_images, hparams, chunk_size)
    k_ts = kernel_matrix_in_chunks(fn, images, support_images, hparams, chunk_size)
    with jax.enable_x64(True):
        alpha = np.asarray(krr_weights(jnp.asarray(k_ss, jnp.float64),
                                       jnp.asarray(support_labels, jnp.float64), reg))
    if not np.all(np.isfinite(alpha)):
        raise FloatingPointError(
            f'the support kernel plus ridge (reg={reg}) is singular even in float64; '
            'raise reg or remove duplicate support images')
    predictions = k_ts.astype(np.float64) @ alpha
    targets = np.asarray(centered_one_hot(labels, support_labels.shape[1]), np.float64)
    return {'accuracy': float(np.mean(predictions.argmax(-1) == labels)),
            'mse': float(0.5 * np.mean((predictions - targets) ** 2))}
