"""The source abstraction: a dataset split is a list of shards, each read into one batch.

A `Source` describes a split (`info`), cuts it into small picklable shard descriptors
(`shards`) and reads one shard into a `Batch` (`read`). The same three methods serve the
in-memory loader (`load_split`, shards read in a thread pool) and the Beam stage (one shard
per element, read on the workers), so every reader is written once.

Every example carries a string key, unique within its split (for ImageFolder its path
relative to the split folder); `load_split` orders examples by key, so the order is the
same whichever way, and in whichever order, the shards were read.
"""
import concurrent.futures
import dataclasses
from typing import NamedTuple

import numpy as np

from tfkip.errors import TfkipError
from tfkip.sources.dataset import LabeledImages


@dataclasses.dataclass(frozen=True)
class SplitInfo:
    class_names: tuple
    image_shape: tuple  # (H, W, C)
    num_examples: int


class Batch(NamedTuple):
    images: np.ndarray  # [n, H, W, C], uint8 for encoded images, float32 for arrays
    labels: np.ndarray  # [n] int32
    keys: np.ndarray  # [n] str, unique within the split


@dataclasses.dataclass(frozen=True)
class Shard:
    split: str
    payload: tuple  # what the source's `read` needs, e.g. file paths


SOURCES = []  # every Source subclass, registered by defining it (see `Source.from_spec`)


class Source:
    """Base class: `name` (for messages and provenance), `from_spec` and the three methods
    below. Defining a subclass registers it with `open_source`."""
    name = '<source>'
    priority = 0  # `open_source` asks higher priorities first

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        SOURCES.append(cls)

    @classmethod
    def from_spec(cls, spec, *, tfds_data_dir=None):
        """A source of this kind for the spec string, or None if `spec` names another kind."""
        return None

    def info(self, split):
        """SplitInfo of `split`; raises TfkipError if the split is missing or malformed."""
        raise NotImplementedError

    def shards(self, split):
        """[Shard] covering `split` once."""
        raise NotImplementedError

    def read(self, shard):
        """Shard -> Batch; raises TfkipError naming the bad file."""
        raise NotImplementedError


def index_shards(split, num_examples, shard_size):
    """Shards of consecutive example indices, payload (start, stop), for array-like sources."""
    return [Shard(split, (start, min(start + shard_size, num_examples)))
            for start in range(0, num_examples, shard_size)]


def index_keys(start, stop):
    """[stop - start] str keys that sort like the indices."""
    return np.array([f'{i:010d}' for i in range(start, stop)])


def concat(batches):
    """[Batch] -> one Batch, ordered by key."""
    images = np.concatenate([b.images for b in batches])
    labels = np.concatenate([b.labels for b in batches])
    keys = np.concatenate([b.keys for b in batches])
    order = np.argsort(keys, kind='stable')
    return Batch(images[order], labels[order], keys[order])


def check_batch(batch, num_classes, where):
    """`batch` if its pixels are finite and its labels in [0, num_classes); else TfkipError
    naming `where` (the source and split) and the first bad example's key. Every reader's
    batches pass through it, in memory and in the Beam stage."""
    images = np.asarray(batch.images)
    if images.size and np.issubdtype(images.dtype, np.floating):
        finite = np.isfinite(images.reshape(len(images), -1)).all(1)
        if not finite.all():
            raise TfkipError(f'{where}: example {batch.keys[np.argmin(finite)]} has NaN or Inf '
                             'pixels')
    labels = np.asarray(batch.labels)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise TfkipError(f'{where}: example {batch.keys[np.argmax(bad)]} has label '
                         f'{labels[np.argmax(bad)]}, out of range [0, {num_classes})')
    return batch


def split_info(source, split):
    """`source.info(split)`, or TfkipError if the split is missing, malformed or empty."""
    info = source.info(split)
    if not info.num_examples:
        raise TfkipError(f'{source.name}[{split}]: the split holds no examples')
    return info


def load_split(source, split, *, num_workers=8):
    """Reads every shard of `split` into LabeledImages (float32 images), ordered by key."""
    info = split_info(source, split)
    where = f'{source.name}[{split}]'
    read = lambda shard: check_batch(source.read(shard), len(info.class_names), where)
    with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
        batches = list(pool.map(read, source.shards(split)))
    batch = concat(batches)
    if len(np.unique(batch.keys)) != len(batch.keys):
        raise TfkipError(f'{source.name}[{split}]: duplicate example keys')
    return LabeledImages(batch.images, batch.labels, info.class_names,
                         source=f'{source.name}[{split}]')


def as_hwc(image):
    """image: [H, W] (grayscale) or [H, W, C] -> [H, W, C]."""
    return image[..., None] if image.ndim == 2 else image


def check_image(image, expected_shape, where):
    """image: [H, W] or [H, W, C] -> [H, W, C], or TfkipError naming `where`."""
    image = as_hwc(image)
    if tuple(image.shape) != tuple(expected_shape):
        raise TfkipError(f'mixed image sizes: {where} is {tuple(image.shape)}, the split\'s '
                         f'images are {tuple(expected_shape)}')
    return image
