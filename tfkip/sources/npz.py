"""Read a split from an `.npz` of arrays: `<split>_images` [N, H, W, C], `<split>_labels` [N].

An optional `class_names` array names the classes; otherwise they are "0".."C-1",
with C = max label + 1 over the file's splits.
"""
import os

import numpy as np

from tfkip.errors import TfkipError
from tfkip.sources.dataset import LabeledImages


def load_npz(path, split):
    """LabeledImages of `split` from the `.npz` at `path`."""
    if not os.path.exists(path):
        raise TfkipError(f'file not found: {path}')
    try:
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError) as e:
        raise TfkipError(f'{path}: not a readable .npz file ({e})') from None
    keys = (f'{split}_images', f'{split}_labels')
    if not all(k in arrays for k in keys):
        raise TfkipError(f'{path}: split {split!r} needs arrays {keys}; the file has '
                         f'{sorted(arrays)}')
    if 'class_names' in arrays:
        class_names = tuple(arrays['class_names'].tolist())
    else:
        all_labels = [v for k, v in arrays.items() if k.endswith('_labels') and v.size]
        num_classes = int(max(v.max() for v in all_labels)) + 1 if all_labels else 0
        class_names = tuple(str(c) for c in range(num_classes))
    return LabeledImages(arrays[keys[0]], arrays[keys[1]], class_names,
                         source=f'{path}[{split}]')
