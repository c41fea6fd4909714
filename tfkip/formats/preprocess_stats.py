"""The preprocessing statistics file (`stats.npz` of a prepared folder, an artifact's
`.preprocess.npz`, a published set's `preprocessing.npz`): the arrays of a `PreprocessStats`
plus a JSON `meta` entry describing them, read back as a `PreprocessStats`."""
import io
import json

import numpy as np

from tfkip.errors import TfkipError
from tfkip.preprocess.standardize import ChannelStats
from tfkip.preprocess.transform import PreprocessConfig, PreprocessStats
from tfkip.preprocess.zca import ZcaStats

FORMAT = 'tfkip.preprocess_stats.v1'


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
