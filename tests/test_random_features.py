"""Random features (RFAD's kernel) against the exact NNGP kernel they estimate."""
import jax
import numpy as np
import pytest

from tfkip.distill import step_kernels
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn
from tfkip.distill.methods.rfad.features import make_feature_fn

HPARAMS = {'W_std': np.float32(1.3), 'b_std': np.float32(0.2)}


@pytest.mark.parametrize('kernel', [
    KernelConfig('fc', depth=2, kernel='nngp'),
    KernelConfig('convnet', depth=2, kernel='nngp'),
    KernelConfig('convnet', depth=1, kernel='nngp', readout='gap', prepend_conv=True),
])
@pytest.mark.slow
def test_feature_inner_products_estimate_the_exact_nngp(kernel):
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 2)).astype(np.float32)
    exact = np.asarray(make_kernel_fn(kernel)(x, x, HPARAMS))
    scale = np.sqrt(np.outer(np.diag(exact), np.diag(exact)))

    def relative_error(num_models, width):
        phi = jax.jit(make_feature_fn(kernel, num_models=num_models, width=width))(
            x, jax.random.key(0), HPARAMS)
        return np.abs(np.asarray(phi @ phi.T) - exact) / scale

    # Monte-Carlo error of order 1/sqrt(M * width) (times the ReLU maps' spread).
    error = relative_error(16, 1024)
    assert error.mean() < 0.03 and error.max() < 0.08
    # ...and one narrow network is far noisier: the error is Monte-Carlo error, which
    # shrinks with M * width, not a bias of the feature map.
    assert relative_error(1, 16).mean() > 3 * error.mean()


@pytest.mark.slow
def test_one_key_one_set_of_networks():
    kernel = KernelConfig('convnet', depth=1, kernel='nngp')
    feature_fn = jax.jit(make_feature_fn(kernel, num_models=2, width=8))
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype(np.float32)
    a, b = feature_fn(x, jax.random.key(1), HPARAMS), feature_fn(x[:2], jax.random.key(1),
                                                                 HPARAMS)
    np.testing.assert_allclose(a[:2], b, rtol=1e-5, atol=1e-6)  # features are per image
    assert a.shape == (4, 2 * 8 * 4 * 4 + 1)
    assert not np.allclose(a, feature_fn(x, jax.random.key(2), HPARAMS))


@pytest.mark.slow
def test_step_kernels_share_the_support_features():
    kernel = KernelConfig('fc', depth=1, kernel='nngp')
    feature_fn = make_feature_fn(kernel, num_models=2, width=16)
    x = np.random.default_rng(0).normal(size=(7, 4, 4, 1)).astype(np.float32)
    k_ss, k_ts = step_kernels.random_features(feature_fn)(x[:3], x[3:], HPARAMS,
                                                          jax.random.key(0))
    phi = feature_fn(x, jax.random.key(0), HPARAMS)
    np.testing.assert_allclose(k_ss, phi[:3] @ phi[:3].T, rtol=1e-5)
    np.testing.assert_allclose(k_ts, phi[3:] @ phi[:3].T, rtol=1e-5)


@pytest.mark.parametrize('options,message', [
    (dict(kernel=KernelConfig('convnet', kernel='ntk')), "use kernel='nngp'"),
    (dict(kernel=KernelConfig('fc', kernel='nngp'), num_models=0), 'num_models'),
    (dict(kernel=KernelConfig('fc', kernel='nngp'), width=2.5), 'width'),
])
def test_bad_feature_settings_are_clear_errors(options, message):
    kernel = options.pop('kernel')
    with pytest.raises(TfkipError, match=message):
        make_feature_fn(kernel, **{'num_models': 2, 'width': 4, **options})
