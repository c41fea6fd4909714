"""Label Solve (LS): the support labels that minimise the KRR loss in closed form.

For fixed support images with regularized kernel K_reg = K_ss + reg tr(K_ss)/S I,
KRR predicts K_ts K_reg^-1 y_s = K_ts z with z = K_reg^-1 y_s. The loss
||K_ts z - y_t||^2 is least squares in z, solved from the normal equations

    G = sum over target chunks of K_st K_ts   [S, S]
    b = sum over target chunks of K_st y_t    [S, C]
    z = lstsq(G, b),  y_s = K_reg z

accumulated chunk by chunk in float64, so any number of targets fits in bounded
memory (Nguyen, Chen, Lee, ICLR 2021, sec. 3.2).
"""
import jax
import jax.numpy as jnp
import numpy as np

from tfkip.distill.krr import centered_one_hot, regularized
from tfkip.kernels.kernel import kernel_matrix_in_chunks

# Float32 kernel entries carry ~1e-7 relative error, so the spectrum of the Gram
# matrix G (squared entries) is meaningful to ~1e-14; drop what lies below 1e-10.
DEFAULT_RCOND = 1e-10


def label_solve(kernel_fn, hparams, support_images, target_images, target_labels, *,
                num_classes, reg, chunk_size=8192, rcond=DEFAULT_RCOND):
    """Closed-form support labels.

    Args:
      kernel_fn: `kernel_fn(x1, x2, hparams)` from `tfkip.kernels.make_kernel_fn`.
      hparams: its hyperparameters.
      support_images: [S, H, W, C] float32.
      target_images: [T, H, W, C] float32, e.g. the whole training set.
      target_labels: [T] int.
      num_classes: C.
      reg: KRR ridge.
      chunk_size: target rows per kernel call.
      rcond: relative cut-off of the least-squares solve of G.

    Returns:
      [S, C] float32 labels.
    """
    fn = jax.jit(kernel_fn)
    k_ss = kernel_matrix_in_chunks(fn, support_images, support_images, hparams, chunk_size)
    gram = np.zeros(k_ss.shape, np.float64)
    rhs = np.zeros((k_ss.shape[0], num_classes), np.float64)
    for start in range(0, len(target_images), chunk_size):
        stop = start + chunk_size
        k_ts = kernel_matrix_in_chunks(fn, target_images[start:stop], support_images,
                                       hparams, chunk_size).astype(np.float64)
        y_t = np.asarray(centered_one_hot(target_labels[start:stop], num_classes), np.float64)
        gram += k_ts.T @ k_ts
        rhs += k_ts.T @ y_t
    z = np.linalg.lstsq(gram, rhs, rcond=rcond)[0]
    with jax.enable_x64(True):
        k_reg = np.asarray(regularized(jnp.asarray(k_ss, jnp.float64), reg))
    return (k_reg @ z).astype(np.float32)
