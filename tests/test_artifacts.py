"""The distilled-set artifact: round trip, provenance, and clear errors for bad files."""
import dataclasses
import json

import numpy as np
import pytest

from tfkip.formats import distilled_set
from tfkip.formats.distilled_set import DistilledSet
from tfkip.errors import TfkipError


def small_set():
    rng = np.random.default_rng(0)
    return DistilledSet(rng.normal(size=(4, 2, 2, 1)).astype(np.float32),
                        rng.normal(size=(4, 2)).astype(np.float32), {'method': 'kip'})


def test_round_trip_with_sidecar(tmp_path):
    path = distilled_set.save(small_set(), str(tmp_path / 'set'))
    assert path.endswith('set.npz')
    sidecar = json.loads((tmp_path / 'set.json').read_text())
    assert sidecar['method'] == 'kip' and sidecar['num_examples'] == 4
    assert len(sidecar['sha256']) == 64
    loaded = distilled_set.load(path)
    np.testing.assert_array_equal(loaded.images, small_set().images)
    assert loaded.metadata.path == path
    assert not list(tmp_path.glob('.*tmp*')), 'temporary files left behind'


def test_metadata_is_typed_and_survives_the_round_trip(tmp_path):
    meta = distilled_set.Metadata(
        method='rfad', config={'method': 'rfad', 'images_per_class': 2}, steps=3,
        history=[{'step': 0, 'eval_accuracy': 0.5}], metrics={'accuracy': 0.75},
        class_names=['a', 'b'], extra={'platt_temperature': 0.2})
    distilled = DistilledSet(small_set().images, small_set().labels, meta)
    loaded = distilled_set.load(distilled_set.save(distilled, str(tmp_path / 'set')))
    assert loaded.metadata == dataclasses.replace(meta, path=str(tmp_path / 'set.npz'))
    sidecar = json.loads((tmp_path / 'set.json').read_text())
    assert sidecar['platt_temperature'] == 0.2 and 'extra' not in sidecar  # the file's keys
    assert DistilledSet(distilled.images, distilled.labels, sidecar).metadata == meta


def test_published_kip_file_without_sidecar_loads(tmp_path):
    # The KIP papers' files: keys images / labels, float64 is fine.
    np.savez(tmp_path / 'kip.npz', images=np.zeros((2, 3, 3, 3)), labels=np.eye(2))
    loaded = distilled_set.load(str(tmp_path / 'kip.npz'))
    assert loaded.images.dtype == np.float32 and loaded.num_classes == 2


def test_changed_file_fails_the_checksum(tmp_path):
    distilled_set.save(small_set(), str(tmp_path / 'set'))
    np.savez(tmp_path / 'set.npz', images=np.zeros((4, 2, 2, 1)), labels=np.zeros((4, 2)))
    with pytest.raises(TfkipError, match='does not match the checksum'):
        distilled_set.load(str(tmp_path / 'set.npz'))


@pytest.mark.parametrize('arrays,message', [
    ({'images': np.zeros((2, 3, 3, 1))}, "missing keys \\['labels'\\]"),
    ({'images': np.zeros((2, 9)), 'labels': np.eye(2)}, 'images must be \\[N, H, W, C\\]'),
    ({'images': np.zeros((2, 3, 3, 1)), 'labels': np.eye(3)}, '2 images but 3 labels'),
    ({'images': np.full((2, 3, 3, 1), np.nan), 'labels': np.eye(2)}, 'NaN or Inf'),
    ({'images': np.zeros((2, 3, 3, 1), np.int32), 'labels': np.eye(2)}, 'floating point'),
])
def test_bad_files_are_clear_errors(tmp_path, arrays, message):
    np.savez(tmp_path / 'bad.npz', **arrays)
    with pytest.raises(TfkipError, match=message):
        distilled_set.load(str(tmp_path / 'bad.npz'))


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(TfkipError, match='not found'):
        distilled_set.load(str(tmp_path / 'nothing.npz'))
    (tmp_path / 'junk.npz').write_bytes(b'junk')
    with pytest.raises(TfkipError, match='not a readable .npz'):
        distilled_set.load(str(tmp_path / 'junk.npz'))


def test_shape_and_class_mismatch(tmp_path):
    loaded = distilled_set.load(distilled_set.save(small_set(), str(tmp_path / 'set')))
    loaded.check_matches((2, 2, 1), 2)
    with pytest.raises(TfkipError, match='distilled images are \\(2, 2, 1\\)'):
        loaded.check_matches((28, 28, 1), 2, 'mnist')
    with pytest.raises(TfkipError, match='2 classes, but mnist has 10'):
        loaded.check_matches((2, 2, 1), 10, 'mnist')


def test_preprocessing_statistics_travel_with_the_set(tmp_path):
    from tfkip.preprocess import PreprocessConfig, fit
    from tfkip.sources.dataset import LabeledImages
    rng = np.random.default_rng(0)
    train = LabeledImages(rng.normal(size=(40, 2, 2, 3)), rng.integers(0, 2, 40), ('a', 'b'))
    stats = fit(PreprocessConfig(zca_reg=0.1), train)
    loaded = distilled_set.load(distilled_set.save(small_set(), str(tmp_path / 'set'),
                                                   preprocessing=stats))
    back = distilled_set.load_preprocessing(loaded)
    np.testing.assert_array_equal(back.zca.whitening, stats.zca.whitening)
    assert distilled_set.load_preprocessing(
        distilled_set.load(distilled_set.save(small_set(), str(tmp_path / 'plain')))) is None
    with open(tmp_path / 'set.preprocess.npz', 'ab') as f:
        f.write(b'x')
    with pytest.raises(TfkipError, match='set.preprocess.npz does not match the checksum'):
        distilled_set.load_preprocessing(loaded)
