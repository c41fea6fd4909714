"""The published sets' preprocessing equals an independent numpy transcription of each
project's own code, on small data."""
import numpy as np
import pytest

from tfkip.preprocess import apply
from tfkip.preprocess.published import KIP_STANDARD, KIP_ZCA, RFAD_ZCA, fit


def kip_notebook(train, images, zca, zca_reg=0.1, valid_size=5000):
    """The KIP authors' nn_training.ipynb, step by step: `_load_dataset` standardizes with
    np.mean / np.std over all train pixels and splits the last `valid_size` off;
    `_get_preprocess_op` ("zca_normalize") layer-normalizes, whitens with SVD and rank
    control, and applies `images.dot(whitening_transform)`."""
    mean, std = np.mean(train, axis=(0, 1, 2)), np.std(train, axis=(0, 1, 2))
    x_train = ((train - mean) / std)[:-valid_size]
    x = (images - mean) / std
    if not zca:
        return x
    x_train = x_train.reshape(x_train.shape[0], -1).astype('float64')
    n_train = x_train.shape[0]
    x_train = x_train - np.mean(x_train, axis=1)[:, np.newaxis]
    x_train = x_train / np.linalg.norm(x_train, axis=1)[:, np.newaxis]
    cov = 1.0 / n_train * x_train.T.dot(x_train)
    reg_amount = zca_reg * np.trace(cov) / cov.shape[0]
    u, s, _ = np.linalg.svd(cov + reg_amount * np.eye(cov.shape[0]))
    inv_sqrt_zca_eigs = s ** (-1 / 2)
    if n_train < x_train.shape[1]:
        inv_sqrt_zca_eigs[n_train:] = np.ones(inv_sqrt_zca_eigs[n_train:].shape[0])
    whitening = np.einsum('ij,j,kj->ik', u, inv_sqrt_zca_eigs, u)
    flat = x.reshape(x.shape[0], -1)
    flat = flat - np.mean(flat, axis=1)[:, np.newaxis]
    flat = flat / np.linalg.norm(flat, axis=1)[:, np.newaxis]
    return flat.dot(whitening).reshape(x.shape)


def rfad_code(train, images, reg_coef=0.1):
    """RFAD's data.py for CIFAR-10: torch.std (unbiased) standardization, `get_zca_matrix`
    on all train images, `transform_data`."""
    mean, std = np.mean(train, axis=(0, 1, 2)), np.std(train, axis=(0, 1, 2), ddof=1)
    x_flat = ((train - mean) / std).reshape(len(train), -1)
    cov = (x_flat.T @ x_flat) / x_flat.shape[0]
    reg_amount = reg_coef * np.trace(cov) / cov.shape[0]
    u, s, _ = np.linalg.svd(cov + reg_amount * np.eye(cov.shape[0]))
    whitening = np.einsum('ij,j,kj->ik', u, s ** -0.5, u)
    x = ((images - mean) / std)
    return (x.reshape(len(x), -1) @ whitening).reshape(x.shape)


def raw_images(n, shape=(6, 6, 3), seed=0):
    """uint8 pixels with correlated channels, like photographs' (not white noise)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n,) + shape[:2] + (1,)) * 40 + 120
    return np.clip(base + rng.normal(size=(n,) + shape) * 20, 0, 255).astype(np.uint8)


@pytest.mark.parametrize('fitted', [60, 400])  # fewer and more images than d = 108
def test_kip_zca_recipe_equals_the_notebook(fitted):
    train = raw_images(5000 + fitted)
    test = raw_images(7, seed=1)
    stats = fit(KIP_ZCA, train, [str(i) for i in range(10)], 'tfds:tiny')
    np.testing.assert_allclose(apply(stats, test), kip_notebook(train, test, zca=True),
                               rtol=2e-4, atol=2e-4)
    assert stats.num_train == len(train) and 'nn_training' in stats.source


def test_kip_standard_recipe_equals_the_notebook():
    train, test = raw_images(5100, shape=(5, 5, 1)), raw_images(4, shape=(5, 5, 1), seed=2)
    stats = fit(KIP_STANDARD, train, ['a', 'b'], 'tfds:tiny')
    assert stats.zca is None and not stats.config.per_image_norm
    np.testing.assert_allclose(apply(stats, test), kip_notebook(train, test, zca=False),
                               rtol=1e-5, atol=1e-5)


def test_rfad_recipe_equals_its_code():
    train, test = raw_images(300), raw_images(5, seed=3)
    stats = fit(RFAD_ZCA, train, ['a'], 'tfds:tiny')
    np.testing.assert_allclose(apply(stats, test), rfad_code(train, test), rtol=2e-4,
                               atol=2e-4)


def test_too_few_images_for_the_holdout_is_an_error():
    with pytest.raises(Exception, match='all but the last 5000'):
        fit(KIP_ZCA, raw_images(100), ['a'], 'tfds:tiny')
