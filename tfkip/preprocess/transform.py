"""The preprocessing chain of the KIP papers, fitted on the train split, applied to every split.

    x -> standardize per channel -> [normalize each image] -> [regularized ZCA]

1. `standardize`: (x - mean_c) / std_c with mean_c, std_c over all train pixels of channel c.
2. `per_image_norm` (the reference code's option): each flattened image is centred on its own
   mean and scaled to norm sqrt(d), i.e. unit mean square.
3. `zca`: regularized ZCA on the flattened result, W = U (S + lambda tr(C)/d)^(-1/2) U^T
   (see `tfkip.preprocess.zca`); grayscale sets usually stop after step 1.

`fit` computes the statistics in memory; the Beam stage (`tfkip.beam.preprocess`) computes the
same statistics with the same functions over shards. Either way the result is a
`PreprocessStats`, saved as one self-describing `.npz` (`tfkip.formats.preprocess_stats`).
"""
import dataclasses

import numpy as np

from tfkip.errors import TfkipError
from tfkip.options import pick
from tfkip.preprocess import moments
from tfkip.preprocess.standardize import (ChannelStats, channel_rows, channel_stats_from_moments,
                                          standardize_array)
from tfkip.preprocess.zca import ZcaStats, whiten, zca_from_moments

@dataclasses.dataclass(frozen=True)
class PreprocessConfig:
    """Which preprocessing steps run. One default everywhere (the library, `tfkip preprocess`,
    `tfkip distill`, `tfkip run`): standardize, then regularized ZCA for colour images only,
    the KIP papers' choice (ZCA is what makes kernels work on RGB sets; grayscale digits do
    as well without it).

    Attributes:
      standardize: per-channel standardization with the train split's mean and std.
      per_image_norm: centre each image and scale it to unit mean square (before ZCA).
      zca: regularized ZCA whitening: on, off, or 'auto': for colour images only (decided
        by `resolved` when the preprocessing is fitted).
      zca_reg: the ZCA ridge lambda, relative to the mean eigenvalue tr(C)/d (0: plain ZCA;
        0.1 is the papers' CIFAR-10 value).
    """
    standardize: bool = True
    per_image_norm: bool = False
    zca: bool | str = 'auto'
    zca_reg: float = 0.1

    def __post_init__(self):
        if self.zca not in (True, False, 'auto'):
            raise TfkipError(f"zca must be True, False or 'auto', got {self.zca!r}")
        if not (isinstance(self.zca_reg, (int, float)) and self.zca_reg >= 0):
            raise TfkipError(f'zca_reg must be a number >= 0, got {self.zca_reg!r}')

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_options(cls, values):
        """The config of a flat {option: value} mapping (the command line's, a config file's);
        other options and None values are ignored."""
        return cls(**pick({k: v for k, v in values.items() if v is not None}, cls))

    def resolved(self, image_shape):
        """This config for images of `image_shape` (H, W, C): zca 'auto' becomes C > 1."""
        if self.zca != 'auto':
            return self
        return dataclasses.replace(self, zca=image_shape[-1] > 1)


@dataclasses.dataclass(frozen=True)
class PreprocessStats:
    """Fitted preprocessing: the config, what it was fitted on, and the statistics.

    channel: per-channel stats (None without standardization); zca: ZCA stats over the
    flattened images (None without ZCA).
    """
    config: PreprocessConfig
    class_names: tuple
    image_shape: tuple
    source: str
    num_train: int
    channel: ChannelStats = None
    zca: ZcaStats = None

    def describe(self):
        """JSON-ready summary without the large arrays (for manifests and artifact sidecars)."""
        return {'config': self.config.to_dict(), 'class_names': list(self.class_names),
                'image_shape': list(self.image_shape), 'source': self.source,
                'num_train': self.num_train,
                'channel': self.channel.to_dict() if self.channel else None}


def before_zca(images, config, channel):
    """images: [N, H, W, C] -> [N, H*W*C] float32 after standardization and image norm."""
    x = standardize_array(images, channel) if config.standardize else images
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    if config.per_image_norm:
        x = x - x.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x * (np.sqrt(x.shape[1]) / np.maximum(norms, 1e-12))
    return x


def apply(stats, images):
    """images: [N, H, W, C] -> preprocessed [N, H, W, C] float32."""
    if tuple(images.shape[1:]) != tuple(stats.image_shape):
        raise TfkipError(f'images of shape {tuple(images.shape[1:])}, the preprocessing '
                         f'statistics were fitted on {tuple(stats.image_shape)}')
    x = before_zca(images, stats.config, stats.channel)
    if stats.zca is not None:
        x = whiten(x, stats.zca)
    return x.reshape(images.shape).astype(np.float32)


def invert(stats, images):
    """Preprocessed images back to pixel space, for viewing: [N, H, W, C] -> same, float32.

    Undoes ZCA (W is invertible: its eigenvalues are ridged) and standardization exactly;
    per-image normalization dropped each image's mean and scale, which are not restored.
    """
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    if stats.zca is not None:
        x = np.linalg.solve(stats.zca.whitening, x.T).T + stats.zca.mean  # W is symmetric
    x = x.reshape(images.shape)
    if stats.channel is not None:
        x = x * stats.channel.std + stats.channel.mean
    return x.astype(np.float32)


def transform(stats, data):
    """LabeledImages -> LabeledImages with `apply`-ed images."""
    return dataclasses.replace(data, images=apply(stats, data.images))


def fit(config, data):
    """LabeledImages of the train split -> PreprocessStats, in memory (float64 statistics)."""
    config = config.resolved(data.image_shape)
    channel = (channel_stats_from_moments(moments.of_rows(channel_rows(data.images), full=False))
               if config.standardize else None)
    zca = None
    if config.zca:
        x = before_zca(data.images, config, channel)
        zca = zca_from_moments(moments.of_rows(x, full=True), config.zca_reg)
    return PreprocessStats(config, data.class_names, data.image_shape, data.source,
                           len(data), channel, zca)
