"""The ReLU's arc-cosine map (Cho & Saul 2009), shared by tfkip's exact fast kernels.

For a pair of pre-activations with covariance s and variances q1, q2 (q = q1 q2), a ReLU
gives covariance sqrt(q - s^2) / (2 pi) + (1/2 - theta / (2 pi)) s, cos(theta) = s / sqrt(q),
and its derivatives covariance 1/2 - theta / (2 pi), which multiplies the NTK. Written
once here for `fc_fast` and `convnet_fast`, with a derivative that stays finite for
identical inputs and a float32 arc-cosine that is cheap on CPU.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from tfkip.kernels.broadcast import like, unbroadcast


# acos(a) = sqrt(1 - a) * P(a) on [0, 1], P of degree 7 fitted at import by least squares
# on Chebyshev nodes: max error 2.5e-8, under float32's resolution at pi / 2, and about
# 8x cheaper than XLA's arctan2 on CPU (the ReLU's cost at the first layer).
_NODES = 0.5 - 0.5 * np.cos(np.linspace(0., np.pi, 4001))
_ACOS_POLY = tuple(np.polynomial.polynomial.polyfit(
    _NODES[:-1], np.arccos(_NODES[:-1]) / np.sqrt(1. - _NODES[:-1]), 7))


def acos_float32(c):
    """arccos(c) for c: [...] in [-1, 1], by the polynomial above (float32 accuracy)."""
    a = jnp.abs(c)
    p = jnp.polyval(jnp.asarray(_ACOS_POLY[::-1], c.dtype), a)
    # sqrt((1 - a) p^2) = sqrt(1 - a) p (P > 0 on [0, 1]), but with the sqrt last: XLA's
    # CPU fusion recomputes a chain of cheap ops (the polynomial) inside every consumer,
    # yet materializes an expensive op (sqrt) once. With the product last, a KIP-FC
    # step recomputed all layers' polynomials in several backward fusions: 1.3x slower.
    angle = jnp.sqrt((1. - a) * p * p)
    return jnp.where(c < 0, jnp.pi - angle, angle)


def _root_and_slope(s, q):
    """sqrt(q - s^2) and slope = 1/2 - theta / (2 pi), cos(theta) = s / sqrt(q)."""
    root = jnp.sqrt(jnp.maximum(q - s * s, 0.))
    if s.dtype == jnp.float64:
        theta = jnp.where((root == 0) & (s == 0), jnp.pi / 2, jnp.arctan2(root, s))
    else:
        inv = jnp.where(q > 0, jax.lax.rsqrt(jnp.where(q > 0, q, 1.)), 0.)
        theta = acos_float32(jnp.clip(s * inv, -1., 1.))
    return root, 0.5 - theta / (2 * jnp.pi)


@jax.custom_vjp
def relu_map(s, q1, q2):
    """The ReLU's arc-cosine map of covariance entries, elementwise.

    Args:
      s: [...] float, the pre-activation covariance of a pair.
      q1, q2: float arrays that broadcast to s's shape, whose product q = q1 q2 is the
        product of the two variances of the pair (0 where both are 0, e.g. outside the
        image in a ConvNet band, where s is 0 too). Passed as factors so that q, an
        array of s's size, is never stored for the gradient: it is rebuilt from them.

    Returns:
      (s_out, slope): s_out = sqrt(q - s^2) / (2 pi) + slope * s, the post-activation
      covariance, and slope = 1/2 - theta / (2 pi) with cos(theta) = s / sqrt(q), the
      covariance of the derivatives, which multiplies the NTK.
    """
    root, slope = _root_and_slope(s, q1 * q2)
    return root / (2 * jnp.pi) + slope * s, slope


def _relu_map_fwd(s, q1, q2):
    # Only the inputs are kept and the map is recomputed backwards: its derivatives are
    # up to five arrays of s's size, and writing and reading them back cost more than the
    # arithmetic on the memory-bound CPU (the ConvNet NTK's gradient went from 3.4x its
    # forward pass to 2.9x, the NNGP's from 3.1x to 2.7x).
    s, q1, q2 = (jnp.asarray(x.value) for x in (s, q1, q2))
    return relu_map(s, q1, q2), (s, q1, q2)


def _relu_map_bwd(residuals, cotangents):
    # d s_out = slope ds + sqrt(q - s^2) / (4 pi q) dq;
    # d slope = (2 q ds - s dq) / (4 pi q sqrt(q - s^2)), taken as 0 where the pair's
    # features are parallel up to rounding: 1 / sqrt(q - s^2) would only amplify it. The
    # band is q - s^2 <= sqrt(eps) q (theta < 0.02 rad in float32, 2e-4 in float64), not
    # eps q: when s and q come from different sums (an FC kernel's matmul and its squared
    # norms), an image paired with itself is off by many ulps, and a one-ulp gap alone
    # makes the derivative ~300x its neighbours' (KIP-FC then diverged to NaN). The slope's
    # cotangent is a symbolic zero for the NNGP, which never reads the slope.
    s, q1, q2 = residuals
    g_out, g_slope = cotangents
    q = q1 * q2
    root, slope = _root_and_slope(s, q)
    safe_q = jnp.where(q > 0, q, 1.)
    g_s = g_q = jnp.zeros_like(s)
    if not isinstance(g_out, SymbolicZero):
        g_s = slope * g_out
        g_q = jnp.where(q > 0, root / (4 * jnp.pi * safe_q), 0.) * g_out
    if not isinstance(g_slope, SymbolicZero):
        parallel = root * root <= np.sqrt(jnp.finfo(s.dtype).eps) * q
        k = jnp.where(parallel, 0.,
                      g_slope / (4 * jnp.pi * safe_q * jnp.where(parallel, 1., root)))
        g_s, g_q = g_s + 2 * q * k, g_q - s * k
    return (like(g_s, s), like(unbroadcast(g_q * q2, q1.shape), q1),
            like(unbroadcast(g_q * q1, q2.shape), q2))


relu_map.defvjp(_relu_map_fwd, _relu_map_bwd, symbolic_zeros=True)
