"""Exact infinite-width FC kernels (NNGP and NTK) in plain JAX, fast.

The same kernels as neural-tangents' `stax` for `architectures.FC` (Flatten, `depth` x
(Dense, ReLU), Dense readout, NTK parameterization), written as the closed-form
recursion on the Gram matrix, which neural-tangents also computes but with ~4x the
time on XLA:CPU (its generic layers carry more state per pair than an FC net needs):

    input     S = W_std^2 <x1, x2> / D + b_std^2,  T = S,  v_i = W_std^2 |x_i|^2 / D + b_std^2
    ReLU      S, slope = relu_map(S, v1, v2);  T = T * slope;  v_i = v_i / 2
    Dense     S = W_std^2 S + b_std^2;  T = W_std^2 T + S;  v_i = W_std^2 v_i + b_std^2

S is the NNGP and T the NTK after the readout Dense. One matmul per block of pairs; the
rest is elementwise.
"""
import jax.numpy as jnp

from tfkip.kernels.architectures import ARCHITECTURES
from tfkip.kernels.blocks import blocked
from tfkip.kernels.relu import relu_map


def fc_kernel(x1, x2, depth, w_std, b_std, kernel='ntk'):
    """The FC network's infinite-width kernel between two batches.

    Args:
      x1: [N1, ...] float; x2: [N2, ...] float, the same per-example shape (flattened).
      depth: hidden Dense + ReLU layers (>= 1).
      w_std, b_std: [] float, weight and bias standard deviations (may be traced).
      kernel: 'ntk' or 'nngp'.

    Returns:
      [N1, N2] in the dtype of x1.
    """
    x1, x2 = x1.reshape(x1.shape[0], -1), x2.reshape(x2.shape[0], -1)
    w_var, b_var = w_std ** 2, b_std ** 2
    dense = lambda a: w_var * a / x1.shape[1] + b_var
    s = dense(x1 @ x2.T)
    v1, v2 = dense(jnp.sum(x1 * x1, -1)), dense(jnp.sum(x2 * x2, -1))
    t = s
    for _ in range(depth):
        s, slope = relu_map(s, v1[:, None], v2[None, :])
        t = t * slope
        s, v1, v2 = (w_var * a + b_var for a in (s, v1 / 2, v2 / 2))
        t = w_var * t + s
    return t if kernel == 'ntk' else s


def make_kernel_fn(config):
    """The kernel table's entry point: `kernel_fn(x1, x2, hparams) -> [N1, N2]` for an fc
    KernelConfig, in blocks of at most block_size**2 pairs."""
    max_pairs = (config.block_size or ARCHITECTURES['fc'].block_size) ** 2
    block = lambda x1, x2, h: fc_kernel(x1, x2, config.depth, h['W_std'], h['b_std'],
                                        config.kernel)
    return lambda x1, x2, hparams: blocked(block, x1, x2, hparams, max_pairs)
