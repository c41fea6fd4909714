"""The ReLU's arc-cosine map: its hand-written VJP against autodiff of the plain formula."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tfkip.kernels import relu


def _plain(s, q1, q2):
    q = q1 * q2
    theta = jnp.arctan2(jnp.sqrt(q - s * s), s)
    slope = 0.5 - theta / (2 * jnp.pi)
    return jnp.sqrt(q - s * s) / (2 * jnp.pi) + slope * s, slope


@pytest.mark.parametrize('with_slope', [True, False])  # NTK reads the slope, NNGP does not
def test_relu_map_vjp_equals_autodiff_of_the_formula(with_slope):
    """Variances as broadcast factors [N1, 1, P] and [1, N2, P], covariances inside the
    Cauchy-Schwarz bound, float64: values and both factors' cotangents match."""
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        q1, q2 = (jnp.asarray(rng.uniform(0.5, 2., size=shape)) for shape in ((3, 1, 5),
                                                                             (1, 4, 5)))
        s = jnp.asarray(rng.uniform(-0.9, 0.9, size=(3, 4, 5))) * jnp.sqrt(q1 * q2)
        g_out, g_slope = (jnp.asarray(rng.normal(size=s.shape)) for _ in range(2))

        def loss(fn):
            def scalar(*x):
                s_out, slope = fn(*x)
                return jnp.sum(s_out * g_out) + (jnp.sum(slope * g_slope) if with_slope else 0.)
            return scalar
        for got, want in zip(relu.relu_map(s, q1, q2), _plain(s, q1, q2)):
            np.testing.assert_allclose(got, want, rtol=1e-12)
        grads = jax.grad(loss(relu.relu_map), (0, 1, 2))(s, q1, q2)
        for got, want in zip(grads, jax.grad(loss(_plain), (0, 1, 2))(s, q1, q2)):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
