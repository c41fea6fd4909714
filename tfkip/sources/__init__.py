"""Sources: where labelled images come from, one module per kind.

`open_source(spec)` asks each registered `Source` subclass (every module here is imported, and
defining a subclass registers it) for a reader of the spec string:

    tfds:<name>         a TensorFlow Datasets dataset (downloaded and prepared by TFDS)
    sklearn:digits      scikit-learn's 8x8 digits (no download; the quick start's data)
    <dir>/              a folder written by the Beam preprocessing stage (has preprocess.json)
    <dir>/              an ImageFolder tree, <split>/<class name>/<image file>
    <file>.npz          arrays <split>_images [N, H, W, C], <split>_labels [N]

`load(spec, split)` reads a whole split into memory; the Beam stage reads the same shards.
"""
import importlib
import pkgutil

from tfkip._tf import gfile
from tfkip.errors import TfkipError
from tfkip.sources.base import SOURCES, Batch, Shard, SplitInfo, Source, load_split
from tfkip.sources.dataset import LabeledImages
from tfkip.sources.image_folder import ImageFolder
from tfkip.sources.npz import NpzArrays
from tfkip.sources.prepared import Prepared
from tfkip.sources.sklearn_digits import SklearnDigits
from tfkip.sources.tfds_source import Tfds


def open_source(spec, *, tfds_data_dir=None):
    """Source for `spec` (see the module docstring)."""
    for kind in sorted(SOURCES, key=lambda kind: -kind.priority):
        source = kind.from_spec(spec, tfds_data_dir=tfds_data_dir)
        if source is not None:
            return source
    if not gfile().exists(spec):
        raise TfkipError(f'source not found: {spec}')
    raise TfkipError(f'{spec}: unsupported source; give tfds:<name>, sklearn:digits, an '
                     'ImageFolder directory '
                     '(<split>/<class>/<image>), a prepared directory or an .npz file')


for _module in pkgutil.iter_modules(__path__):  # a new source is one new module
    importlib.import_module(f'{__name__}.{_module.name}')


def load(spec, split, **kwargs):
    """LabeledImages of `split` of the source `spec`, images float32."""
    return load_split(open_source(spec, **kwargs), split)


__all__ = ['Batch', 'ImageFolder', 'LabeledImages', 'NpzArrays', 'Prepared', 'Shard',
           'SklearnDigits', 'SplitInfo', 'Source', 'Tfds', 'load', 'load_split',
           'open_source']
