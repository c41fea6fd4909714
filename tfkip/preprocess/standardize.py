"""Per-channel standardization, the first preprocessing step of the KIP papers.

    x' = (x - mean_c) / std_c,  mean_c and std_c over all train pixels of channel c

Statistics come from the training split only and are applied unchanged to every split.
"""
import dataclasses

import numpy as np

from tfkip.errors import TfkipError
from tfkip.preprocess import moments


@dataclasses.dataclass(frozen=True)
class ChannelStats:
    """mean, std: [C] float64, per-channel statistics of the training images."""
    mean: np.ndarray
    std: np.ndarray

    def to_dict(self):
        return {'kind': 'standardize', 'mean': np.asarray(self.mean).tolist(),
                'std': np.asarray(self.std).tolist()}


def channel_rows(images):
    """images: [N, H, W, C] -> [N*H*W, C], one row per pixel (for `moments.of_rows`)."""
    return images.reshape(-1, images.shape[-1])


def channel_stats_from_moments(m):
    """Diagonal Moments of the pixel rows -> ChannelStats."""
    std = np.sqrt(moments.covariance(m))
    if np.any(std == 0):
        raise TfkipError(f'channel(s) {np.flatnonzero(std == 0).tolist()} are constant over '
                         'the training images; cannot standardize them')
    return ChannelStats(m.mean, std)


def standardize_array(images, stats):
    """images: [N, H, W, C] -> (images - mean) / std, float32."""
    if images.shape[-1] != len(stats.mean):
        raise TfkipError(f'images have {images.shape[-1]} channels, the statistics '
                         f'{len(stats.mean)}')
    return ((images - stats.mean) / stats.std).astype(np.float32)
