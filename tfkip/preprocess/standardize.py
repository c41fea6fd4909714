"""Per-channel standardization, the preprocessing of the KIP papers for grayscale sets.

    x' = (x - mean_c) / std_c,  mean_c and std_c over all train pixels of channel c

Statistics come from the training split only and are applied unchanged to every
split. (Regularized ZCA for colour sets is built on top of this in the Beam stage.)
"""
import dataclasses

import numpy as np

from tfkip.errors import TfkipError
from tfkip.sources.dataset import LabeledImages


@dataclasses.dataclass(frozen=True)
class ChannelStats:
    """mean, std: [C] float64, per-channel statistics of the training images."""
    mean: np.ndarray
    std: np.ndarray

    def to_dict(self):
        return {'kind': 'standardize', 'mean': self.mean.tolist(), 'std': self.std.tolist()}


def channel_stats(images):
    """images: [N, H, W, C] -> ChannelStats, accumulated in float64."""
    flat = images.reshape(-1, images.shape[-1]).astype(np.float64)
    std = flat.std(axis=0)
    if np.any(std == 0):
        raise TfkipError(f'channel(s) {np.flatnonzero(std == 0).tolist()} are constant over '
                         'the training images; cannot standardize them')
    return ChannelStats(flat.mean(axis=0), std)


def standardize(data, stats):
    """LabeledImages -> LabeledImages with images (x - mean) / std, float32."""
    if data.image_shape[-1] != len(stats.mean):
        raise TfkipError(f'{data.source}: {data.image_shape[-1]} channels, the statistics '
                         f'{len(stats.mean)}')
    images = ((data.images - stats.mean) / stats.std).astype(np.float32)
    return dataclasses.replace(data, images=images)
