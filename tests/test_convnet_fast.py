"""The fast ConvNet kernel against neural-tangents: values, gradients, float32, blocks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tfkip.kernels import convnet_fast, relu
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn

HPARAMS = {'W_std': 1.3, 'b_std': 0.2}
# Every option at least once, on even and odd image sizes (VALID pools drop a row).
CASES = [
    (dict(depth=1, kernel='ntk', readout='gap'), (9, 10, 1)),
    (dict(depth=2, kernel='nngp', prepend_conv=True), (9, 10, 1)),
    (dict(depth=2, kernel='ntk', readout='gap', prepend_conv=True), (8, 8, 2)),
    (dict(depth=3, kernel='ntk'), (8, 8, 3)),
]


def _pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.normal(size=(3,) + shape)),
            jnp.asarray(rng.normal(size=(2,) + shape)))


def _kernels(arch, **fast):
    """(neural-tangents' kernel, the fast one), jitted as their callers jit them: eager,
    neural-tangents' takes about four times as long here."""
    # One neural-tangents block: jaxlib 0.10.2's CPU compiler crashes on NT's blocked
    # float64 gradient after its forward pass, a bug outside tfkip.
    reference = make_kernel_fn(KernelConfig('convnet', implementation='neural_tangents',
                                            block_size=64, **arch))
    return jax.jit(reference), jax.jit(make_kernel_fn(KernelConfig('convnet', **arch, **fast)))


def _hparams(dtype):
    return {k: jnp.asarray(v, dtype) for k, v in HPARAMS.items()}


@pytest.mark.slow
@pytest.mark.parametrize('arch,shape', CASES, ids=str)
def test_values_and_gradients_equal_neural_tangents_in_float64(arch, shape):
    with jax.enable_x64(True):
        x1, x2 = _pair(shape)
        hparams = _hparams(jnp.float64)
        reference, fast = _kernels(arch, block_size=2)  # 3 x 2 pairs: several blocks
        np.testing.assert_allclose(fast(x1, x2, hparams), reference(x1, x2, hparams),
                                   rtol=1e-5)

        loss = lambda fn: lambda a, b, h: jnp.sum(jnp.sin(fn(a, b, h)))
        (gx1_ref, gx2_ref, gh_ref), (gx1, gx2, gh) = (
            jax.grad(loss(fn), (0, 1, 2))(x1, x2, hparams) for fn in (reference, fast))
        # The second set alone (KIP's support, its targets held fixed) takes other adjoints
        # in the fast kernel; its gradient is the same, so the reference's is not recomputed.
        gx2_alone = jax.grad(loss(fast), 1)(jax.lax.stop_gradient(x1), x2, hparams)
        for g, g_ref in ((gx1, gx1_ref), (gx2, gx2_ref), (gx2_alone, gx2_ref)):
            np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-5 * np.abs(g_ref).max())
        for name in HPARAMS:
            np.testing.assert_allclose(gh[name], gh_ref[name], rtol=1e-5)


@pytest.mark.slow
def test_support_kernel_gradient_equals_neural_tangents():
    """K(x, x), as in KIP's K_ss: the diagonal pairs are identical images."""
    with jax.enable_x64(True):
        x, _ = _pair((8, 8, 2), seed=3)
        hparams = _hparams(jnp.float64)
        reference, fast = _kernels(dict(depth=2, kernel='ntk'))
        grad = lambda fn: jax.grad(lambda a: jnp.sum(fn(a, a, hparams) ** 2))(x)
        g_ref = grad(reference)
        np.testing.assert_allclose(grad(fast), g_ref, rtol=1e-5,
                                   atol=1e-5 * np.abs(g_ref).max())


@pytest.mark.slow
def test_float32_is_as_accurate_as_float32_allows():
    """float32 takes the polynomial arc-cosine; compare with the exact float64 kernel."""
    arch = dict(depth=3, kernel='ntk')
    x1, x2 = _pair((16, 16, 3), seed=4)  # radius 7 at 16x16: the band is all offsets
    _, fast = _kernels(arch)
    with jax.enable_x64(True):
        exact = np.asarray(fast(x1, x2, _hparams(jnp.float64)))
    single = fast(x1.astype(jnp.float32), x2.astype(jnp.float32), _hparams(jnp.float32))
    assert single.dtype == jnp.float32
    np.testing.assert_allclose(single, exact, rtol=2e-5)


def test_polynomial_arc_cosine_is_accurate():
    c = jnp.linspace(-1., 1., 100001, dtype=jnp.float32)
    error = np.abs(np.asarray(relu.acos_float32(c), np.float64)
                   - np.arccos(np.asarray(c, np.float64)))
    assert error.max() < 5e-7


def test_band_radii_follow_the_readout():
    plan = convnet_fast.Plan.make((32, 32), 3)
    assert plan.sizes == ((32, 32), (16, 16), (8, 8), (4, 4))
    assert plan.radii == ((7, 7), (3, 3), (1, 1), (0, 0))
    assert plan.entries_per_pair() == 15 * 15 * 32 * 32
    gap = convnet_fast.Plan.make((28, 28), 3, readout='gap')
    assert gap.sizes[-1] == (3, 3) and gap.radii[-1] == (2, 2) and gap.radii[0] == (23, 23)


def test_block_size_comes_from_the_memory_budget():
    small = convnet_fast.Plan.make((8, 8), 1)
    large = convnet_fast.Plan.make((32, 32), 3)
    assert convnet_fast.pairs_per_block(small, 4) > convnet_fast.pairs_per_block(large, 4) >= 1
    assert convnet_fast.pairs_per_block(large, 8) <= convnet_fast.pairs_per_block(large, 4)


class _Accelerator:
    """A device as `pairs_per_block` sees it: a platform and its memory limit."""
    platform = 'gpu'

    def __init__(self, bytes_limit):
        self.bytes_limit = bytes_limit

    def memory_stats(self):
        return {'bytes_limit': self.bytes_limit}


def test_accelerator_blocks_stop_at_the_pairs_xla_compiles_quickly():
    large = convnet_fast.Plan.make((32, 32), 3)
    big = _Accelerator(139 * 2 ** 30)  # an H200: a quarter of it holds ~2,500 such pairs
    assert convnet_fast.pairs_per_block(large, 4, big) == convnet_fast._ACCELERATOR_MAX_PAIRS
    small = _Accelerator(2 ** 30)  # where memory is the tighter bound, it decides
    assert 1 <= convnet_fast.pairs_per_block(large, 4, small) < (
        convnet_fast._ACCELERATOR_MAX_PAIRS)


def _vjps_agree(fast, reference, x, seed=1):
    """fast and reference give the same values and the same vector-Jacobian products."""
    y, vjp = jax.vjp(jax.jit(fast), *x)
    y_ref, vjp_ref = jax.vjp(jax.jit(reference), *x)  # eager, these take 5x as long here
    g = jnp.asarray(np.random.default_rng(seed).normal(size=y.shape))
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    for got, want in zip(vjp(g), vjp_ref(g)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize('image_hw,depth,readout', [((16, 12), 3, 'flatten'), ((9, 7), 2, 'gap'),
                                                     ((9, 10), 2, 'flatten')])
def test_hand_written_adjoints_equal_autodiff(image_hw, depth, readout):
    """The pool, shift and input-covariance adjoints (written for speed) against autodiff's
    transposes of the plain formulas, in float64."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        plan = convnet_fast.Plan.make(image_hw, depth, readout=readout)
        for k in range(depth):
            r_in, r_out, size_out = plan.radii[k], plan.radii[k + 1], plan.sizes[k + 1]
            band = jnp.asarray(rng.normal(size=(2, 2 * r_in[0] + 1, 2 * r_in[1] + 1)
                                          + plan.sizes[k]))

            def pooled(a):  # the 16 strided slices, differentiated by JAX
                total = 0.
                for ah, bh, aw, bw in np.ndindex(2, 2, 2, 2):
                    dh, dw = (r_in[i] + b - a - 2 * r_out[i]
                              for i, (a, b) in enumerate(((ah, bh), (aw, bw))))
                    total = total + a[..., dh:dh + 4 * r_out[0] + 1:2,
                                      dw:dw + 4 * r_out[1] + 1:2, ah:ah + 2 * size_out[0]:2,
                                      aw:aw + 2 * size_out[1]:2]
                return total / 16 * convnet_fast._mask(r_out, size_out)
            _vjps_agree(lambda a: convnet_fast._pool_band(a, r_in, r_out, size_out), pooled,
                        (band,))
        images = jnp.asarray(rng.normal(size=(3,) + image_hw + (2,)))
        radii = plan.radii[0]

        def shifted(v):  # entry [n, dh, dw, h, w] = v[n, h + dh - rh, w + dw - rw], 0 outside
            padded = jnp.pad(v, [(0, 0), (radii[0],) * 2, (radii[1],) * 2, (0, 0)])
            return jnp.stack([jnp.stack([padded[:, dh:dh + image_hw[0], dw:dw + image_hw[1]]
                                         for dw in range(2 * radii[1] + 1)], 1)
                              for dh in range(2 * radii[0] + 1)], 1)
        _vjps_agree(lambda v: convnet_fast._shift(v, radii), shifted, (images,))
        x2 = convnet_fast._shift(images[:2], radii)
        _vjps_agree(lambda a, b: convnet_fast._input(a[:, None, None, None], b[None]),
                    lambda a, b: (a[:, None, None, None] * b[None]).mean(-1), (images, x2))
