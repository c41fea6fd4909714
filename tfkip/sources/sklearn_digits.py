"""`sklearn:digits`: the 1,797 8x8 handwritten digits that ship inside scikit-learn.

No download, so the quick start runs on a machine with no network. Images are [8, 8, 1]
float32 with scikit-learn's values (0..16). scikit-learn gives one set; the splits are
fixed here, stratified: within each class, every fifth example (in scikit-learn's order)
is `test` (355 images), the rest `train` (1,442).
"""
import functools

import numpy as np

from tfkip.errors import TfkipError
from tfkip.sources.base import Batch, SplitInfo, Source, index_keys, index_shards

SPLITS = ('train', 'test')
TEST_EVERY = 5


@functools.cache  # info() and every shard's read() ask for it
def _splits():
    """{split: (images [N, 8, 8, 1] float32, labels [N] int32)}."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    rank = np.zeros(len(digits.target), np.int64)  # position of each example in its class
    for c in np.unique(digits.target):
        where = np.flatnonzero(digits.target == c)
        rank[where] = np.arange(len(where))
    test = rank % TEST_EVERY == TEST_EVERY - 1
    images = digits.images.astype(np.float32)[..., None]
    labels = digits.target.astype(np.int32)
    return {'train': (images[~test], labels[~test]), 'test': (images[test], labels[test])}


class SklearnDigits(Source):
    """scikit-learn's digits; `shard_size` examples per shard."""
    name = 'sklearn:digits'

    @classmethod
    def from_spec(cls, spec, *, tfds_data_dir=None):
        return cls() if spec == cls.name else None

    def __init__(self, *, shard_size=500):
        self.shard_size = shard_size

    def _split(self, split):
        if split not in SPLITS:
            raise TfkipError(f'{self.name} has splits {SPLITS}, not {split!r}')
        return _splits()[split]

    def info(self, split):
        images, _ = self._split(split)
        return SplitInfo(tuple(str(d) for d in range(10)), images.shape[1:], len(images))

    def shards(self, split):
        return index_shards(split, self.info(split).num_examples, self.shard_size)

    def read(self, shard):
        images, labels = self._split(shard.split)
        start, stop = shard.payload
        return Batch(images[start:stop], labels[start:stop], index_keys(start, stop))
