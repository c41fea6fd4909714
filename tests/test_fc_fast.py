"""The fast FC kernel against neural-tangents: values and gradients, float32."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tfkip.kernels import relu
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn

HPARAMS = {'W_std': 1.3, 'b_std': 0.2}


def _kernels(**arch):
    return (make_kernel_fn(KernelConfig('fc', implementation='neural_tangents', **arch)),
            make_kernel_fn(KernelConfig('fc', **arch)))


def _hparams(dtype, **overrides):
    return {k: jnp.asarray(v, dtype) for k, v in {**HPARAMS, **overrides}.items()}


@pytest.mark.slow
@pytest.mark.parametrize('depth,kernel,b_std', [(1, 'nngp', 0.0), (2, 'ntk', 0.2),
                                                (3, 'nngp', 0.2), (3, 'ntk', 0.0)])
def test_values_and_gradients_equal_neural_tangents_in_float64(depth, kernel, b_std):
    with jax.enable_x64(True):
        rng = np.random.default_rng(depth)
        x1 = jnp.asarray(rng.normal(size=(5, 4, 3, 2)))
        x2 = jnp.asarray(rng.normal(size=(4, 4, 3, 2)))
        hparams = _hparams(jnp.float64, b_std=b_std)
        reference, fast = _kernels(depth=depth, kernel=kernel)
        np.testing.assert_allclose(fast(x1, x2, hparams), reference(x1, x2, hparams),
                                   rtol=1e-10)

        def grads(fn):
            loss = lambda a, h: jnp.sum(jnp.sin(fn(a, x2, h)))
            return jax.grad(loss, (0, 1))(x1, hparams)

        (gx_ref, gh_ref), (gx, gh) = grads(reference), grads(fast)
        np.testing.assert_allclose(gx, gx_ref, rtol=1e-8, atol=1e-10)
        for name in HPARAMS:
            np.testing.assert_allclose(gh[name], gh_ref[name], rtol=1e-8)


@pytest.mark.slow
def test_support_kernel_gradient_is_finite_and_equals_neural_tangents():
    """K(x, x), as in KIP's K_ss: the diagonal pairs are identical inputs (theta = 0)."""
    with jax.enable_x64(True):
        x = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3, 3, 1)))
        hparams = _hparams(jnp.float64)
        reference, fast = _kernels(depth=2, kernel='ntk')
        grad = lambda fn: jax.grad(lambda a: jnp.sum(fn(a, a, hparams) ** 2))(x)
        g, g_ref = grad(fast), grad(reference)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, g_ref, rtol=1e-6, atol=1e-6 * np.abs(g_ref).max())


@pytest.mark.slow
def test_float32_matches_float64():
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=(6, 28, 28, 1)), rng.normal(size=(5, 28, 28, 1))
    _, fast = _kernels(depth=3, kernel='ntk')
    with jax.enable_x64(True):
        exact = np.asarray(fast(jnp.asarray(x1), jnp.asarray(x2), _hparams(jnp.float64)))
    single = fast(x1.astype(np.float32), x2.astype(np.float32), _hparams(jnp.float32))
    assert single.dtype == jnp.float32
    np.testing.assert_allclose(single, exact, rtol=1e-5)


@pytest.mark.slow
def test_relu_slope_derivative_ignores_a_rounding_gap():
    """An image paired with itself in an FC kernel: the matmul gives s and the squared norms
    q, which round differently, so s can fall a few ulps below sqrt(q). The slope's
    derivative must not turn that gap into a huge gradient (KIP-FC diverged to NaN)."""
    q = jnp.float32(1.)
    for s in (q, jnp.nextafter(q, 0.), jnp.float32(1. - 8 * np.finfo(np.float32).eps)):
        ds, dq = jax.grad(lambda s, q: sum(relu.relu_map(s, q, 1.)), (0, 1))(s, q)
        assert abs(float(ds)) < 1 and abs(float(dq)) < 1, (float(s), float(ds), float(dq))
