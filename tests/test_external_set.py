"""A set another tool made: read, its space re-derived, bad files refused in one line."""
import numpy as np
import pytest

from tfkip import preprocess
from tfkip.errors import TfkipError
from tfkip.formats import external_set

CLASSES = ('a', 'b', 'c')


def _write(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_a_normalized_set_maps_raw_images_as_torchvisions_normalize(tmp_path):
    rng = np.random.default_rng(0)
    mean, std = np.float32([0.49, 0.48, 0.45]), np.float32([0.20, 0.19, 0.21])
    path = _write(tmp_path / 's.npz', images=rng.normal(size=(3, 4, 4, 3)).astype(np.float32),
                  labels=np.array([2, 0, 1]), mean=mean, std=std)
    made, stats = external_set.load(path, CLASSES)
    np.testing.assert_array_equal(made.labels, np.eye(3, dtype=np.float32)[[2, 0, 1]])
    raw = rng.integers(0, 256, size=(5, 4, 4, 3)).astype(np.uint8)
    np.testing.assert_allclose(preprocess.apply(stats, raw), (raw / 255. - mean) / std, rtol=1e-5, atol=1e-5)


def test_without_mean_and_std_the_images_are_raw_pixels_and_soft_labels_stay(tmp_path):
    labels = np.float32([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    path = _write(tmp_path / 's.npz', images=np.ones((2, 2, 2, 1), np.uint8) * 9, labels=labels)
    made, stats = external_set.load(path, CLASSES)
    np.testing.assert_array_equal(made.labels, labels)
    raw = np.full((1, 2, 2, 1), 7, np.uint8)
    np.testing.assert_array_equal(preprocess.apply(stats, raw), raw.astype(np.float32))


@pytest.mark.parametrize('arrays, message', [
    ({'images': np.zeros((2, 2, 2, 1))}, 'missing labels'),
    ({'images': np.zeros((2, 2, 2, 1)), 'labels': np.array([0, 3])}, 'integer classes 0..2'),
    ({'images': np.zeros((2, 2, 2, 1)), 'labels': np.zeros((2, 4))}, 'labels of 4 classes'),
    ({'images': np.zeros((2, 2, 2, 1)), 'labels': np.array([0, 1]), 'mean': np.zeros(1)},
     'both mean and std'),
    ({'images': np.zeros((2, 2, 2, 1)), 'labels': np.array([0, 1]), 'mean': np.zeros(3),
      'std': np.ones(3)}, r'mean and std must be \[1\]'),
    ({'images': np.zeros((2, 2, 2)), 'labels': np.array([0, 1])}, r'\[N, H, W, C\]'),
])
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, arrays, message):
    path = _write(tmp_path / 'bad.npz', **arrays)
    with pytest.raises(TfkipError, match=message) as error:
        external_set.load(path, CLASSES)
    assert str(error.value).startswith(path) and '\n' not in str(error.value)


def test_a_missing_or_unreadable_file(tmp_path):
    with pytest.raises(TfkipError, match='no such file'):
        external_set.load(str(tmp_path / 'none.npz'), CLASSES)
    (tmp_path / 'text.npz').write_text('not a zip')
    with pytest.raises(TfkipError, match='not a readable .npz'):
        external_set.load(str(tmp_path / 'text.npz'), CLASSES)
