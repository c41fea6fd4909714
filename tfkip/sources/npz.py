"""`.npz` sources: arrays `<split>_images` [N, H, W, C] and `<split>_labels` [N].

An optional `class_names` array names the classes; otherwise they are "0".."C-1",
with C = max label + 1 over the file's splits. Example keys are the zero-padded indices.
"""
import io
import zipfile

import numpy as np

from tfkip._tf import gfile
from tfkip.errors import TfkipError
from tfkip.sources.base import Batch, SplitInfo, Source, index_keys, index_shards


class NpzArrays(Source):
    """An `.npz` file (local or in a bucket); `shard_size` examples per shard."""

    @classmethod
    def from_spec(cls, spec, *, tfds_data_dir=None):
        return cls(spec) if spec.endswith('.npz') else None

    def __init__(self, path, *, shard_size=5000):
        self.path, self.name, self.shard_size = path, path, shard_size
        self._cache = None

    def __getstate__(self):  # Beam pickles sources to workers: ship the path, not the arrays
        return {**self.__dict__, '_cache': None}

    def _arrays(self):
        if self._cache is None:
            self._cache = self._read_file()
        return self._cache

    def _read_file(self):
        if not gfile().exists(self.path):
            raise TfkipError(f'file not found: {self.path}')
        try:
            with gfile().GFile(self.path, 'rb') as f, np.load(io.BytesIO(f.read())) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise TfkipError(f'{self.path}: not a readable .npz file ({e})') from None

    def _split(self, split):
        arrays = self._arrays()
        keys = (f'{split}_images', f'{split}_labels')
        if not all(k in arrays for k in keys):
            raise TfkipError(f'{self.path}: split {split!r} needs arrays {keys}; the file has '
                             f'{sorted(arrays)}')
        images, labels = arrays[keys[0]], np.asarray(arrays[keys[1]])
        if images.ndim != 4 or labels.shape != images.shape[:1]:
            raise TfkipError(f'{self.path}: {keys[0]} must be [N, H, W, C] and {keys[1]} [N], '
                             f'got {images.shape} and {labels.shape}')
        return arrays, images, labels

    def info(self, split):
        arrays, images, _ = self._split(split)
        if 'class_names' in arrays:
            class_names = tuple(str(c) for c in arrays['class_names'].tolist())
        else:
            class_names = self._numbered_classes(arrays)
        return SplitInfo(class_names, tuple(images.shape[1:]), len(images))

    def _numbered_classes(self, arrays):
        """Classes '0'..'K-1' for a file without class_names, K = the largest label + 1, every
        one of them present (a gap means a label out of range, not an empty class)."""
        labels = {k: np.asarray(v) for k, v in arrays.items() if k.endswith('_labels') and v.size}
        if not labels:
            return ()
        present = set().union(*(np.unique(v).tolist() for v in labels.values()))
        missing = sorted(set(range(int(max(present)) + 1)) - present)
        if missing:
            key, values = max(labels.items(), key=lambda kv: kv[1].max())
            raise TfkipError(
                f'{self.path}: {key}[{int(np.argmax(values))}] is {int(values.max())}, out of '
                f'range: no example has label(s) {missing[:5]}. Fix the label, or add '
                'class_names to the file if those classes are really empty')
        return tuple(str(c) for c in range(int(max(present)) + 1))

    def shards(self, split):
        return index_shards(split, self.info(split).num_examples, self.shard_size)

    def read(self, shard):
        _, images, labels = self._split(shard.split)
        start, stop = shard.payload
        return Batch(images[start:stop], labels[start:stop], index_keys(start, stop))
