"""Prepared sources: the output folder of the Beam preprocessing stage, read by the KIP stage.

    <dir>/preprocess.json                  manifest (format, config, class names, image shape,
                                           source, splits with sizes and files, stats sha256)
    <dir>/stats.npz                        the fitted preprocessing (tfkip.preprocess.transform)
    <dir>/<split>-00000-of-00004.tfrecord  tf.train.Example records, one per image:
        image: bytes, float32 little-endian [H*W*C] (already preprocessed)
        label: int64
        key:   bytes, the example's key in the original source

Shards are read in any order; `load_split` orders the examples by key.
"""
import hashlib
import json
import posixpath

import numpy as np

from tfkip._tf import gfile, tf
from tfkip.errors import TfkipError
from tfkip.preprocess.transform import from_npz_bytes
from tfkip.sources.base import Batch, Shard, SplitInfo, Source

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


class Prepared(Source):
    """A folder written by `pipelines/preprocess.py`."""

    def __init__(self, path):
        self.path, self.name = path.rstrip('/'), path.rstrip('/')
        manifest_path = posixpath.join(self.path, MANIFEST)
        try:
            with gfile().GFile(manifest_path) as f:
                self.manifest = json.load(f)
        except (OSError, ValueError) as e:
            raise TfkipError(f'{manifest_path}: unreadable manifest ({e})') from None
        if self.manifest.get('format') != FORMAT:
            raise TfkipError(f'{manifest_path}: format {self.manifest.get("format")!r}, '
                             f'expected {FORMAT!r}')

    def _split(self, split):
        splits = self.manifest['splits']
        if split not in splits:
            raise TfkipError(f'{self.path}: split {split!r} not prepared (splits present: '
                             f'{sorted(splits)})')
        return splits[split]

    def stats(self):
        """The PreprocessStats the examples were transformed with (checksum verified)."""
        path = posixpath.join(self.path, STATS)
        with gfile().GFile(path, 'rb') as f:
            data = f.read()
        if hashlib.sha256(data).hexdigest() != self.manifest['stats_sha256']:
            raise TfkipError(f'{path}: checksum does not match {MANIFEST}; the folder is '
                             'corrupt or was changed, rerun the preprocessing')
        return from_npz_bytes(data, path)

    def info(self, split):
        return SplitInfo(tuple(self.manifest['class_names']),
                         tuple(self.manifest['image_shape']),
                         self._split(split)['num_examples'])

    def shards(self, split):
        return [Shard(split, (name,)) for name in self._split(split)['files']]

    def read(self, shard):
        tf_ = tf()
        path = posixpath.join(self.path, shard.payload[0])
        spec = {'image': tf_.io.FixedLenFeature([], tf_.string),
                'label': tf_.io.FixedLenFeature([], tf_.int64),
                'key': tf_.io.FixedLenFeature([], tf_.string)}
        shape = tuple(self.manifest['image_shape'])
        images, labels, keys = [], [], []
        try:
            for records in tf_.data.TFRecordDataset(path).batch(4096):
                parsed = tf_.io.parse_example(records, spec)
                raw = parsed['image'].numpy()
                images.append(np.frombuffer(b''.join(raw), '<f4').reshape((len(raw),) + shape))
                labels.append(parsed['label'].numpy().astype(np.int32))
                keys.append(parsed['key'].numpy().astype(str))
        except (tf_.errors.OpError, ValueError) as e:
            raise TfkipError(f'{path}: corrupt record file ({str(e).splitlines()[0]})') from None
        if not images:
            return Batch(np.zeros((0,) + shape, np.float32), np.zeros(0, np.int32),
                         np.zeros(0, str))
        return Batch(np.concatenate(images), np.concatenate(labels), np.concatenate(keys))
