"""Prepared sources: the output folder of the Beam preprocessing stage (its layout:
`tfkip.formats.prepared`), read by the distillation stage.

Shards are read in any order; `load_split` orders the examples by key.
"""
import posixpath

from tfkip._tf import gfile
from tfkip.errors import TfkipError
from tfkip.formats import prepared as layout
from tfkip.sources.base import Batch, Shard, SplitInfo, Source


class Prepared(Source):
    """A folder written by `pipelines/preprocess.py`."""

    priority = 1  # a folder with preprocess.json is a prepared one, not an ImageFolder

    @classmethod
    def from_spec(cls, spec, *, tfds_data_dir=None):
        return cls(spec) if gfile().isdir(spec) and layout.is_prepared(spec) else None

    def __init__(self, path):
        self.path, self.name = path.rstrip('/'), path.rstrip('/')
        self.manifest = layout.read_manifest(self.path)

    def _split(self, split):
        splits = self.manifest['splits']
        if split not in splits:
            raise TfkipError(f'{self.path}: split {split!r} not prepared (splits present: '
                             f'{sorted(splits)})')
        return splits[split]

    def stats(self):
        """The PreprocessStats the examples were transformed with (checksum verified)."""
        return layout.read_stats(self.path, self.manifest)

    def info(self, split):
        return SplitInfo(tuple(self.manifest['class_names']),
                         tuple(self.manifest['image_shape']),
                         self._split(split)['num_examples'])

    def shards(self, split):
        return [Shard(split, (name,)) for name in self._split(split)['files']]

    def read(self, shard):
        return Batch(*layout.read_examples(posixpath.join(self.path, shard.payload[0]),
                                           tuple(self.manifest['image_shape'])))
