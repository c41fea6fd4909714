"""Sources: where labelled images come from. `load(path, split)` picks the reader."""
import os

from tfkip.errors import TfkipError
from tfkip.sources.dataset import LabeledImages
from tfkip.sources.image_folder import load_image_folder
from tfkip.sources.npz import load_npz


def load(path, split):
    """LabeledImages of `split` from an ImageFolder directory or an `.npz` file."""
    if os.path.isdir(path):
        return load_image_folder(path, split)
    if path.endswith('.npz'):
        return load_npz(path, split)
    if not os.path.exists(path):
        raise TfkipError(f'source not found: {path}')
    raise TfkipError(f'{path}: unsupported source; give an ImageFolder directory '
                     '(<split>/<class>/<image>) or an .npz file')


__all__ = ['LabeledImages', 'load', 'load_image_folder', 'load_npz']
