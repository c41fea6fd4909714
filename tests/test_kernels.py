"""Kernels: configuration errors, blocking, and the ConvNet against finite networks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tfkip.errors import TfkipError
from tfkip.kernels.architectures import ConvNet
from tfkip.kernels.blocks import balanced
from tfkip.kernels.kernel import (KernelConfig, kernel_matrix_in_chunks,
                                 make_kernel_fn)


@pytest.mark.parametrize('kwargs,message', [
    ({'architecture': 'resnet'}, 'unknown architecture'),
    ({'kernel': 'rbf'}, 'unknown kernel'),
    ({'depth': 0}, 'depth'),
    ({'W_std': -1.0}, 'W_std'),
    ({'b_std': float('nan')}, 'b_std'),
    ({'prepend_conv': True}, 'prepend_conv'),
    ({'block_size': 0}, 'block_size'),
    ({'architecture': 'convnet', 'readout': 'max'}, 'unknown readout'),
    ({'readout': 'gap'}, 'convnet architecture only'),
    ({'implementation': 'pallas'}, 'unknown implementation'),
])
def test_bad_config_is_a_clear_error(kwargs, message):
    with pytest.raises(TfkipError, match=message):
        KernelConfig(**kwargs)


def test_convnet_needs_images_that_survive_its_pools():
    KernelConfig('convnet', depth=3).check_input_shape((28, 28, 1))  # 28 -> 14 -> 7 -> 3
    with pytest.raises(TfkipError, match='at least 16'):
        KernelConfig('convnet', depth=4).check_input_shape((28, 12, 1))


@pytest.mark.parametrize('config', [
    KernelConfig('fc', depth=2, kernel='ntk'),
    KernelConfig('fc', depth=1, kernel='nngp', b_std=0.0),
    KernelConfig('fc', depth=2, kernel='ntk', implementation='neural_tangents'),
    KernelConfig('convnet', depth=1, kernel='ntk', implementation='neural_tangents'),
    KernelConfig('convnet', depth=1, kernel='ntk'),
])
@pytest.mark.slow
def test_blocked_equals_unblocked_and_gradients_too(config):
    rng = np.random.default_rng(0)
    x1 = jnp.asarray(rng.normal(size=(7, 4, 4, 2)), jnp.float32)
    x2 = jnp.asarray(rng.normal(size=(5, 4, 4, 2)), jnp.float32)
    hparams = config.initial_hparams()
    whole = jax.jit(make_kernel_fn(config))  # as callers use them (eager is slower)
    small = jax.jit(make_kernel_fn(KernelConfig(**{**config.__dict__, 'block_size': 3})))
    np.testing.assert_allclose(small(x1, x2, hparams), whole(x1, x2, hparams), rtol=1e-5)
    grad = lambda fn: jax.grad(lambda a, h: jnp.sum(fn(a, x2, h) ** 2), (0, 1))(x1, hparams)
    (g_small, h_small), (g_whole, h_whole) = grad(small), grad(whole)
    np.testing.assert_allclose(g_small, g_whole, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(h_small['W_std'], h_whole['W_std'], rtol=1e-4)


def test_chunks_on_the_host_match_one_call():
    config = KernelConfig('fc', depth=1)
    fn = jax.jit(make_kernel_fn(config))
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=(11, 3, 3, 1)), rng.normal(size=(6, 3, 3, 1))
    x1, x2 = x1.astype(np.float32), x2.astype(np.float32)
    chunked = kernel_matrix_in_chunks(fn, x1, x2, config.initial_hparams(), chunk_size=4)
    assert chunked.shape == (11, 6)
    np.testing.assert_allclose(chunked, fn(x1, x2, config.initial_hparams()), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize('prepend_conv', [False, True])
def test_convnet_kernels_match_finite_networks(prepend_conv):
    """Monte Carlo over 64 random finite ConvNets of width 128: the NNGP is the mean of
    f(x) f(x')^T, the NTK the mean of J(x) J(x')^T (Jacot et al. 2018)."""
    x = jnp.asarray(np.random.default_rng(2).normal(size=(3, 8, 8, 2)), jnp.float32)
    init, apply, kernel_fn = ConvNet(2, width=128, num_classes=8, prepend_conv=prepend_conv)
    exact = kernel_fn(x, x, ('nngp', 'ntk'))

    @jax.jit
    def sample(key):
        _, params = init(key, x.shape)
        out = apply(params, x)
        jac = jax.jacrev(lambda p: apply(p, x)[:, 0])(params)
        ntk = sum(jnp.tensordot(j, j, axes=(tuple(range(1, j.ndim)),) * 2)
                  for j in jax.tree.leaves(jac))
        return out @ out.T / out.shape[1], ntk

    nngp, ntk = jax.lax.map(sample, jax.random.split(jax.random.PRNGKey(0), 64))
    # Relative MC error: NNGP ~ 1/sqrt(64 * 8 outputs), NTK concentrates with width.
    np.testing.assert_allclose(nngp.mean(0), exact.nngp, rtol=0.1)
    np.testing.assert_allclose(ntk.mean(0), exact.ntk, rtol=0.03)


@pytest.mark.parametrize('n, size, expected', [(1000, 300, 250), (1000, 250, 250), (5, 3, 3),
                                               (7, 3, 3), (2, 10, 2), (501, 250, 167)])
def test_blocks_are_equal_and_as_few_as_the_size_allows(n, size, expected):
    assert balanced(n, size) == expected
    assert -(-n // expected) == -(-n // min(n, size))  # no more blocks than `size` makes
