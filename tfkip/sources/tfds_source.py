"""TFDS sources: `tfds:<name>` reads a TensorFlow Datasets dataset through TFDS.

The dataset is downloaded and prepared once, by `info` on the launching machine (this
needs internet for public datasets); shards are TFDS split slices (`train[0:1000]`), read
with `builder.as_dataset`. On remote Beam workers `data_dir` must be shared storage
(e.g. a `gs://` bucket). The image and label features are the dataset's `supervised_keys`.
"""
import numpy as np

from tfkip import _net
from tfkip._tf import is_prepared, tf
from tfkip.errors import TfkipError
from tfkip.sources.base import Batch, SplitInfo, Source, index_keys, index_shards


class Tfds(Source):
    """`tfds:<dataset>` with an optional TFDS `data_dir`; `shard_size` examples per shard."""

    @classmethod
    def from_spec(cls, spec, *, tfds_data_dir=None):
        if not spec.startswith('tfds:'):
            return None
        return cls(spec[len('tfds:'):], data_dir=tfds_data_dir)

    def __init__(self, dataset, *, data_dir=None, shard_size=5000):
        self.dataset, self.data_dir, self.shard_size = dataset, data_dir, shard_size
        self.name = f'tfds:{dataset}'
        self._prepared = False

    def _builder(self):
        tf()  # hide the GPU from TF before TFDS starts it
        import tensorflow_datasets as tfds
        try:
            return tfds.builder(self.dataset, data_dir=self.data_dir)
        except tfds.core.registered.DatasetNotFoundError as e:
            raise TfkipError(f'{self.name}: no such TFDS dataset ({str(e).splitlines()[0]})'
                             ) from None

    def _download_and_prepare(self, builder):
        # TFDS's own datasets download, their metadata first from TFDS's GCS bucket: check
        # that host. (A builder defined elsewhere may generate its data without a download.)
        ours = type(builder).__module__.startswith('tensorflow_datasets.')
        _net.download(
            builder.download_and_prepare,
            check='https://storage.googleapis.com/tfds-data' if ours else None,
            failed=f'{self.name}: not prepared in {builder.data_dir}, and its download failed',
            instead=f'prepare it where there is (tfds build {self.dataset}) and pass its '
                    'data_dir (--tfds-data-dir), or give an ImageFolder or .npz source')

    def _keys(self, builder):
        keys = builder.info.supervised_keys
        if not keys or len(keys) != 2:
            raise TfkipError(f'{self.name}: the dataset declares no (image, label) '
                             'supervised_keys')
        return keys

    def info(self, split):
        builder = self._builder()
        if not self._prepared:  # once per source: later calls (shards, other splits) reuse it
            if not is_prepared(builder):
                self._download_and_prepare(builder)
            self._prepared = True
        if split not in builder.info.splits:
            raise TfkipError(f'{self.name}: split {split!r} not found (splits present: '
                             f'{sorted(builder.info.splits)})')
        image_key, label_key = self._keys(builder)
        features = builder.info.features
        return SplitInfo(tuple(features[label_key].names), tuple(features[image_key].shape),
                         builder.info.splits[split].num_examples)

    def shards(self, split):
        return index_shards(split, self.info(split).num_examples, self.shard_size)

    def read(self, shard):
        import tensorflow_datasets as tfds
        builder = self._builder()
        start, stop = shard.payload
        dataset = builder.as_dataset(split=f'{shard.split}[{start}:{stop}]',
                                     as_supervised=True, shuffle_files=False)
        images, labels = next(iter(tfds.as_numpy(dataset.batch(stop - start))))
        return Batch(images, labels.astype(np.int32), index_keys(start, stop))
