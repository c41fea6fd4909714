"""Sources: ImageFolder, .npz and TFDS readers, shards, validation, standardization."""
import numpy as np
import pytest
from etils import epath
import tensorflow_datasets as tfds
from PIL import Image

from tfkip import sources
from tfkip.errors import TfkipError
from tfkip.preprocess import PreprocessConfig, fit, transform
from tfkip.sources.dataset import LabeledImages


def write_folder(root, split='train', classes=('cat', 'dog'), per_class=3, size=(4, 4)):
    rng = np.random.default_rng(0)
    for name in classes:
        (root / split / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=size + (3,), dtype=np.uint8)
            Image.fromarray(pixels).save(root / split / name / f'{i}.png')


def test_image_folder_reads_classes_in_sorted_order(tmp_path):
    write_folder(tmp_path, classes=('dog', 'cat'))
    data = sources.load(str(tmp_path), 'train')
    assert data.class_names == ('cat', 'dog')
    assert data.images.shape == (6, 4, 4, 3) and data.images.dtype == np.float32
    np.testing.assert_array_equal(data.labels, [0, 0, 0, 1, 1, 1])
    first = np.asarray(Image.open(tmp_path / 'train' / 'cat' / '0.png'), np.float32)
    np.testing.assert_array_equal(data.images[0], first)


def test_image_folder_errors_name_the_file(tmp_path):
    write_folder(tmp_path)
    with pytest.raises(TfkipError, match="split 'test' not found.*splits present: \\['train'\\]"):
        sources.load(str(tmp_path), 'test')
    (tmp_path / 'train' / 'dog' / '1.png').write_bytes(b'garbage')
    with pytest.raises(TfkipError, match='cannot decode image .*dog/1.png'):
        sources.load(str(tmp_path), 'train')
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / 'train' / 'dog' / '1.png')
    with pytest.raises(TfkipError, match='mixed image sizes: .*dog/1.png'):
        sources.load(str(tmp_path), 'train')
    (tmp_path / 'train' / 'empty').mkdir()
    with pytest.raises(TfkipError, match='empty holds no images'):
        sources.load(str(tmp_path), 'train')


def test_npz_source(tmp_path):
    np.savez(tmp_path / 'd.npz', train_images=np.ones((4, 2, 2, 1)), train_labels=[0, 1, 2, 1],
             class_names=np.array(['a', 'b', 'c']))
    data = sources.load(str(tmp_path / 'd.npz'), 'train')
    assert data.class_names == ('a', 'b', 'c') and len(data) == 4
    with pytest.raises(TfkipError, match="split 'test' needs arrays"):
        sources.load(str(tmp_path / 'd.npz'), 'test')
    with pytest.raises(TfkipError, match='source not found'):
        sources.load(str(tmp_path / 'missing.npz.gz'), 'train')


@pytest.mark.parametrize('images,labels,message', [
    (np.zeros((2, 4)), [0, 1], 'must be a \\[N, H, W, C\\] array'),
    (np.array([[[[np.nan]]], [[[0.0]]]]), [0, 1], '1 image\\(s\\) contain NaN or Inf'),
    (np.zeros((2, 1, 1, 1)), [0], 'labels must be \\[N\\] with N = 2'),
    (np.zeros((2, 1, 1, 1)), [0.0, 1.0], 'labels must be integers'),
    (np.zeros((2, 1, 1, 1)), [0, 5], 'labels must lie in \\[0, 2\\)'),
    (np.array([[[['x']]], [[['y']]]]), [0, 1], 'must be numeric'),
])
def test_labeled_images_validation(images, labels, message):
    with pytest.raises(TfkipError, match=message):
        LabeledImages(np.asarray(images), np.asarray(labels), ('a', 'b'), source='here')


def test_standardize_uses_train_statistics():
    rng = np.random.default_rng(0)
    train = LabeledImages((rng.normal(size=(50, 3, 3, 2)) * [2, 5] + [10, -3]).astype(np.float32),
                          np.arange(50) % 2, ('a', 'b'))
    config = PreprocessConfig(zca=False)
    out = transform(fit(config, train), train).images.reshape(-1, 2)
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-5)
    constant = LabeledImages(np.ones((2, 2, 2, 1)), [0, 1], ('a', 'b'))
    with pytest.raises(TfkipError, match='constant'):
        fit(config, constant)


def test_shards_read_in_any_order_give_the_same_split(tmp_path):
    write_folder(tmp_path, per_class=5)
    source = sources.ImageFolder(str(tmp_path), shard_size=3)
    shards = source.shards('train')
    assert len(shards) == 4
    whole = sources.load_split(source, 'train')
    batches = [source.read(s) for s in reversed(shards)]
    batch = sources.base.concat(batches)
    np.testing.assert_array_equal(batch.images, whole.images)
    assert list(batch.keys[:2]) == ['cat/0.png', 'cat/1.png']


class TinyImages(tfds.core.GeneratorBasedBuilder):
    """A two-class TFDS dataset made on the spot (TFDS downloads are impossible offline)."""
    VERSION = tfds.core.Version('1.0.0')
    pkg_dir_path = epath.Path(__file__).parent  # tests/ is no package to infer it from

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                'image': tfds.features.Image(shape=(4, 4, 3)),
                'label': tfds.features.ClassLabel(names=['x', 'y'])}),
            supervised_keys=('image', 'label'))

    def _split_generators(self, dl_manager):
        return {'train': self._generate_examples(7), 'test': self._generate_examples(3)}

    def _generate_examples(self, n):
        rng = np.random.default_rng(n)
        for i in range(n):
            yield i, {'image': rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), 'label': i % 2}


def test_tfds_source(tmp_path):
    data = sources.load('tfds:tiny_images', 'train', tfds_data_dir=str(tmp_path))
    assert data.class_names == ('x', 'y') and data.images.shape == (7, 4, 4, 3)
    builder = tfds.builder('tiny_images', data_dir=str(tmp_path))
    expected = list(tfds.as_numpy(builder.as_dataset(split='train', as_supervised=True,
                                                     shuffle_files=False)))
    np.testing.assert_array_equal(data.images, np.stack([image for image, _ in expected]))
    np.testing.assert_array_equal(data.labels, [label for _, label in expected])
    source = sources.Tfds('tiny_images', data_dir=str(tmp_path), shard_size=3)
    assert [s.payload for s in source.shards('train')] == [(0, 3), (3, 6), (6, 7)]
    with pytest.raises(TfkipError, match="split 'valid' not found"):
        source.info('valid')
    with pytest.raises(TfkipError, match='tfds:no_such_set: no such TFDS dataset'):
        sources.load('tfds:no_such_set', 'train', tfds_data_dir=str(tmp_path))


def test_a_tfds_dataset_that_cannot_download_is_one_line_at_once(tmp_path, monkeypatch):
    """Offline, TFDS's own dataset fails on the reachability check, before TFDS's minutes of
    retries, in one line that says what to do; a download's own failure reads the same."""
    from tfkip import _net
    monkeypatch.setattr(_net, 'unreachable', lambda url: OSError('no route to host'))
    with pytest.raises(TfkipError, match=r"^tfds:mnist: not prepared in .*, and its download "
                       r"failed \(OSError: no route to host\); without internet, prepare it "
                       r"where there is \(tfds build mnist\)"):
        sources.load('tfds:mnist', 'train', tfds_data_dir=str(tmp_path))

    def failing(self, *args, **kwargs):
        raise tfds.download.DownloadError('HTTP 404')
    monkeypatch.setattr(TinyImages, 'download_and_prepare', failing)
    with pytest.raises(TfkipError, match=r'download failed \(DownloadError: HTTP 404\)'):
        sources.load('tfds:tiny_images', 'train', tfds_data_dir=str(tmp_path))
