"""A set another tool made, to score under tfkip's protocols: one `.npz` file.

Keys:
  images  [N, H, W, C] float, in the tool's input space;
  labels  [N] int classes, or [N, C] float label vectors;
  mean, std (optional) [C] float: the tool's per-channel normalization of pixels scaled
          to 0..1, x / 255 -> (x / 255 - mean) / std (torchvision's `Normalize`, as the
          DC / DSA / DM / MTT code bases use); without them the images are raw pixels, 0..255.

`load` returns the set as a `DistilledSet` (labels as [N, C] vectors) and the
`PreprocessStats` that maps raw real images into its space, so that the rest of tfkip
(`train_on_set`, the `ZCAWhitening` layer) treats it as it treats its own sets.
"""
import numpy as np

from tfkip.errors import TfkipError
from tfkip.formats.distilled_set import DistilledSet, check_arrays
from tfkip.preprocess.standardize import ChannelStats
from tfkip.preprocess.transform import PreprocessConfig, PreprocessStats


def load(path, class_names):
    """(DistilledSet, PreprocessStats) of the external set at `path`, whose classes are
    `class_names` (the real dataset's, in label order)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            found = {k: arrays[k] for k in arrays.files}
    except FileNotFoundError:
        raise TfkipError(f'{path}: no such file') from None
    except (OSError, ValueError, EOFError) as e:
        raise TfkipError(f'{path}: not a readable .npz file ({e})') from None
    missing = [k for k in ('images', 'labels') if k not in found]
    if missing:
        raise TfkipError(f'{path}: an external set needs the keys images and labels '
                         f'(missing {", ".join(missing)})')
    images, labels = found['images'], found['labels']
    num_classes = len(class_names)
    if labels.ndim == 1:
        if not np.issubdtype(labels.dtype, np.integer) or not (
                0 <= labels.min() and labels.max() < num_classes):
            raise TfkipError(f'{path}: labels [N] must be integer classes 0..{num_classes - 1}')
        labels = np.eye(num_classes, dtype=np.float32)[labels]
    images = np.asarray(images, np.float32) if np.issubdtype(images.dtype, np.number) else images
    labels = np.asarray(labels, np.float32) if np.issubdtype(labels.dtype, np.number) else labels
    check_arrays(images, labels, path)
    if labels.shape[1] != num_classes:
        raise TfkipError(f'{path}: labels of {labels.shape[1]} classes, the dataset has '
                         f'{num_classes}')
    channels = images.shape[-1]
    if ('mean' in found) != ('std' in found):
        raise TfkipError(f'{path}: give both mean and std, or neither')
    if 'mean' in found:
        mean, std = (np.asarray(found[k], np.float64).reshape(-1) for k in ('mean', 'std'))
        if len(mean) != channels or len(std) != channels or not np.all(std > 0):
            raise TfkipError(f'{path}: mean and std must be [{channels}], std > 0')
        stats = PreprocessStats(PreprocessConfig(standardize=True, zca=False),
                                tuple(class_names), tuple(images.shape[1:]), path, 0,
                                ChannelStats(255. * mean, 255. * std))
    else:
        stats = PreprocessStats(PreprocessConfig(standardize=False, zca=False),
                                tuple(class_names), tuple(images.shape[1:]), path, 0)
    return DistilledSet(images, labels, {'path': path}), stats
