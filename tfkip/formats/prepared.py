"""The prepared folder the Beam stage writes (`tfkip.beam.preprocess`) and
`tfkip.sources.Prepared` reads:

    <dir>/preprocess.json                  manifest (format, config, class names, image shape,
                                           source, splits with sizes and files, stats sha256)
    <dir>/stats.npz                        the fitted preprocessing (`preprocess_stats`)
    <dir>/<split>-00000-of-00004.tfrecord  tf.train.Example records, one per image:
        image: bytes, float32 little-endian [H*W*C] (already preprocessed)
        label: int64
        key:   bytes, the example's key in the original source
"""
import hashlib
import json
import posixpath

import numpy as np

from tfkip._tf import gfile, tf
from tfkip.errors import TfkipError
from tfkip.formats.preprocess_stats import from_npz_bytes

MANIFEST = 'preprocess.json'
STATS = 'stats.npz'
FORMAT = 'tfkip.prepared.v1'


def is_prepared(path):
    return gfile().exists(posixpath.join(path, MANIFEST))


def encode_example(image, label, key):
    """image: [H, W, C] float32 -> serialized tf.train.Example."""
    train = tf().train
    feature = {
        'image': train.Feature(bytes_list=train.BytesList(
            value=[np.asarray(image, '<f4').tobytes()])),
        'label': train.Feature(int64_list=train.Int64List(value=[int(label)])),
        'key': train.Feature(bytes_list=train.BytesList(value=[str(key).encode()])),
    }
    return train.Example(features=train.Features(feature=feature)).SerializeToString()


def read_manifest(directory):
    """The manifest of a prepared folder, its format checked: {'format', 'config',
    'class_names', 'image_shape', 'source', 'splits': {split: {'num_examples', 'files'}},
    'stats_sha256', ...}."""
    path = posixpath.join(directory, MANIFEST)
    try:
        with gfile().GFile(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise TfkipError(f'{path}: unreadable manifest ({e})') from None
    if manifest.get('format') != FORMAT:
        raise TfkipError(f'{path}: format {manifest.get("format")!r}, expected {FORMAT!r}')
    return manifest


def read_stats(directory, manifest):
    """The folder's PreprocessStats, its checksum verified against the manifest."""
    path = posixpath.join(directory, STATS)
    with gfile().GFile(path, 'rb') as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != manifest['stats_sha256']:
        raise TfkipError(f'{path}: checksum does not match {MANIFEST}; the folder is corrupt '
                         'or was changed, rerun the preprocessing')
    return from_npz_bytes(data, path)


def read_examples(path, image_shape):
    """One TFRecord file -> (images [N, H, W, C] float32, labels [N] int32, keys [N] str)."""
    tf_ = tf()
    spec = {'image': tf_.io.FixedLenFeature([], tf_.string),
            'label': tf_.io.FixedLenFeature([], tf_.int64),
            'key': tf_.io.FixedLenFeature([], tf_.string)}
    images, labels, keys = [], [], []
    try:
        for records in tf_.data.TFRecordDataset(path).batch(4096):
            parsed = tf_.io.parse_example(records, spec)
            raw = parsed['image'].numpy()
            images.append(np.frombuffer(b''.join(raw), '<f4').reshape((len(raw),) + image_shape))
            labels.append(parsed['label'].numpy().astype(np.int32))
            keys.append(parsed['key'].numpy().astype(str))
    except (tf_.errors.OpError, ValueError) as e:
        raise TfkipError(f'{path}: corrupt record file ({str(e).splitlines()[0]})') from None
    if not images:
        return np.zeros((0,) + image_shape, np.float32), np.zeros(0, np.int32), np.zeros(0, str)
    return np.concatenate(images), np.concatenate(labels), np.concatenate(keys)
