"""The preprocessing chain of the KIP papers, fitted on the train split, applied to every split.

    x -> standardize per channel -> [normalize each image] -> [regularized ZCA]

1. `standardize`: (x - mean_c) / std_c with mean_c, std_c over all train pixels of channel c.
2. `per_image_norm` (the reference code's option): each flattened image is centred on its own
   mean and scaled to norm sqrt(d), i.e. unit mean square.
3. `zca`: regularized ZCA on the flattened result, W = U (S + lambda tr(C)/d)^(-1/2) U^T
   (see `tfkip.preprocess.zca`); grayscale sets usually stop after step 1.

`fit` computes the statistics in memory; the Beam stage (`tfkip.preprocess.beam`) computes the
same statistics with the same functions over shards. Either way the result is a
`PreprocessStats`, saved as one self-describing `.npz`.
"""
import dataclasses
import io
import json

import numpy as np

from tfkip.errors import TfkipError
from tfkip.preprocess import moments
from tfkip.preprocess.standardize import (ChannelStats, channel_rows, channel_stats_from_moments,
                                          standardize_array)
from tfkip.preprocess.zca import ZcaStats, whiten, zca_from_moments

FORMAT = 'tfkip.preprocess_stats.v1'


@dataclasses.dataclass(frozen=True)
class PreprocessConfig:
    """Which steps run; `zca_reg` is lambda, relative to the mean eigenvalue (0 = plain ZCA)."""
    standardize: bool = True
    per_image_norm: bool = False
    zca: bool = True
    zca_reg: float = 0.1

    def __post_init__(self):
        if not (isinstance(self.zca_reg, (int, float)) and self.zca_reg >= 0):
            raise TfkipError(f'zca_reg must be a number >= 0, got {self.zca_reg!r}')

    def to_dict(self):
        return dataclasses.asdict(self)


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
    channel = (channel_stats_from_moments(moments.of_rows(channel_rows(data.images), full=False))
               if config.standardize else None)
    zca = None
    if config.zca:
        x = before_zca(data.images, config, channel)
        zca = zca_from_moments(moments.of_rows(x, full=True), config.zca_reg)
    return PreprocessStats(config, data.class_names, data.image_shape, data.source,
                           len(data), channel, zca)


def to_npz_bytes(stats):
    """The statistics file: arrays plus a JSON `meta` entry describing them."""
    arrays = {'meta': np.array(json.dumps({'format': FORMAT, **stats.describe()}))}
    if stats.channel is not None:
        arrays.update(channel_mean=stats.channel.mean, channel_std=stats.channel.std)
    if stats.zca is not None:
        arrays.update(zca_mean=stats.zca.mean, zca_whitening=stats.zca.whitening,
                      zca_eigenvalues=stats.zca.eigenvalues)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def from_npz_bytes(data, where):
    """Inverse of `to_npz_bytes`; `where` names the file in errors."""
    try:
        with np.load(io.BytesIO(data)) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(str(arrays['meta']))
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise TfkipError(f'{where}: not a tfkip preprocessing statistics file ({e})') from None
    if meta.get('format') != FORMAT:
        raise TfkipError(f'{where}: format {meta.get("format")!r}, expected {FORMAT!r}')
    config = PreprocessConfig(**meta['config'])
    channel = (ChannelStats(arrays['channel_mean'], arrays['channel_std'])
               if 'channel_mean' in arrays else None)
    zca = (ZcaStats(arrays['zca_mean'], arrays['zca_whitening'], arrays['zca_eigenvalues'],
                    config.zca_reg) if 'zca_whitening' in arrays else None)
    return PreprocessStats(config, tuple(meta['class_names']), tuple(meta['image_shape']),
                           meta['source'], meta['num_train'], channel, zca)
