"""Preprocessing: moments and their merge, regularized ZCA, the fitted chain (all vs numpy)."""
import numpy as np
import pytest

from tfkip.errors import TfkipError
from tfkip.formats.preprocess_stats import from_npz_bytes, to_npz_bytes
from tfkip.preprocess import PreprocessConfig, apply, fit
from tfkip.preprocess import moments
from tfkip.beam.preprocess import MomentsCombineFn
from tfkip.preprocess.zca import zca_from_moments
from tfkip.sources.dataset import LabeledImages


def offset_rows(n=3000, d=6, offset=1e4, seed=0):
    """float32 rows with a large common offset: E[x^2] - E[x]^2 in float32 loses all digits."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d))
    return (offset + rng.normal(size=(n, d)) @ mixing).astype(np.float32)


def numpy_reference(x):
    x64 = x.astype(np.float64)
    return x64.mean(axis=0), np.cov(x64.T, bias=True)


def test_naive_float32_variance_fails_on_this_data():
    x = offset_rows()
    naive = (x * x).mean(axis=0) - x.mean(axis=0) ** 2  # float32 throughout
    _, cov = numpy_reference(x)
    assert np.max(np.abs(naive - np.diag(cov)) / np.diag(cov)) > 1e-2


@pytest.mark.parametrize('full', [True, False])
def test_sharded_merge_equals_numpy_in_any_order(full):
    x = offset_rows()
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.choice(np.arange(1, len(x)), size=12, replace=False))
    parts = [moments.of_rows(s, full=full) for s in np.split(x, cuts)]
    mean, cov = numpy_reference(x)
    for order in (range(len(parts)), rng.permutation(len(parts))):
        merged = moments.empty(x.shape[1], full=full)
        for i in order:
            merged = moments.merge(merged, parts[i])
        assert merged.count == len(x)
        np.testing.assert_allclose(merged.mean, mean, rtol=1e-12)
        np.testing.assert_allclose(moments.covariance(merged), cov if full else np.diag(cov),
                                   rtol=1e-6, atol=1e-9 * np.abs(cov).max())


def test_combine_fn_over_shards_as_a_runner_drives_it():
    x = offset_rows()
    fn = MomentsCombineFn(full=True)
    shards = np.array_split(x, 7)
    # Two "workers" each add some batches, then the accumulators merge (with an empty one).
    acc_a, acc_b = fn.create_accumulator(), fn.create_accumulator()
    for s in shards[:3]:
        acc_a = fn.add_input(acc_a, s)
    for s in shards[3:]:
        acc_b = fn.add_input(acc_b, s)
    result = fn.extract_output(fn.merge_accumulators([acc_b, fn.create_accumulator(), acc_a]))
    mean, cov = numpy_reference(x)
    np.testing.assert_allclose(result.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(moments.covariance(result), cov, rtol=1e-6)


def test_regularized_zca_formula():
    x = offset_rows(d=5).astype(np.float64)
    m = moments.of_rows(x, full=True)
    mean, cov = numpy_reference(x)
    # plain ZCA (lambda = 0) whitens: the covariance of the output is the identity
    plain = zca_from_moments(m, 0.0)
    white = (x - mean) @ plain.whitening
    np.testing.assert_allclose(np.cov(white.T, bias=True), np.eye(5), atol=1e-8)
    # lambda > 0: W = U (S + lambda tr(C)/d)^-1/2 U^T, symmetric
    reg = 0.1
    s, u = np.linalg.eigh(cov)
    expected = u @ np.diag((s + reg * np.trace(cov) / 5) ** -0.5) @ u.T
    zca = zca_from_moments(m, reg)
    np.testing.assert_allclose(zca.whitening, expected, rtol=1e-8)
    np.testing.assert_allclose(zca.whitening, zca.whitening.T, atol=1e-12)


def test_plain_zca_of_singular_covariance_is_a_clear_error():
    x = np.zeros((10, 3))
    x[:, 0] = np.arange(10)
    with pytest.raises(TfkipError, match='singular \\(rank 1 of 3\\).*zca_reg > 0'):
        zca_from_moments(moments.of_rows(x, full=True), 0.0)


def test_fit_and_apply_match_numpy_and_use_train_statistics_only():
    rng = np.random.default_rng(0)
    train = LabeledImages((rng.normal(size=(200, 3, 3, 2)) * [2, 5] + [100, -40]),
                          rng.integers(0, 2, 200), ('a', 'b'))
    test = rng.normal(size=(20, 3, 3, 2)).astype(np.float32) + 7
    config = PreprocessConfig(per_image_norm=True, zca_reg=0.2)
    stats = fit(config, train)
    # independent numpy: standardize, normalize each image, ZCA with the formula
    pixels = train.images.reshape(-1, 2).astype(np.float64)
    mu, sd = pixels.mean(0), pixels.std(0)

    def before(images):
        f = ((images - mu) / sd).reshape(len(images), -1)
        f = f - f.mean(1, keepdims=True)
        return f / np.linalg.norm(f, axis=1, keepdims=True) * np.sqrt(f.shape[1])

    f = before(train.images)
    s, u = np.linalg.eigh(np.cov(f.T, bias=True))
    w = u @ np.diag((s + 0.2 * s.sum() / len(s)) ** -0.5) @ u.T
    expected = ((before(test) - f.mean(0)) @ w).reshape(test.shape)
    np.testing.assert_allclose(apply(stats, test), expected, rtol=1e-4, atol=1e-4)
    per_image = before(test)
    np.testing.assert_allclose(np.linalg.norm(per_image, axis=1), np.sqrt(18), rtol=1e-6)


def test_stats_file_round_trip_and_errors():
    rng = np.random.default_rng(0)
    train = LabeledImages(rng.normal(size=(50, 2, 2, 3)), rng.integers(0, 2, 50), ('a', 'b'),
                          source='somewhere')
    stats = fit(PreprocessConfig(), train)
    back = from_npz_bytes(to_npz_bytes(stats), 'stats.npz')
    assert back.config == stats.config and back.class_names == ('a', 'b')
    assert back.image_shape == (2, 2, 3) and back.source == 'somewhere' and back.num_train == 50
    np.testing.assert_array_equal(back.zca.whitening, stats.zca.whitening)
    np.testing.assert_array_equal(back.channel.std, stats.channel.std)
    with pytest.raises(TfkipError, match='bad.npz: not a tfkip preprocessing statistics file'):
        from_npz_bytes(b'not an npz', 'bad.npz')
    with pytest.raises(TfkipError, match='images of shape \\(3, 3, 3\\)'):
        apply(stats, np.zeros((1, 3, 3, 3), np.float32))
    with pytest.raises(TfkipError, match='zca_reg must be a number >= 0'):
        PreprocessConfig(zca_reg=-1)
