"""`LabeledImages`: the in-memory dataset every stage reads, validated once on creation."""
import dataclasses

import numpy as np

from tfkip.errors import TfkipError


@dataclasses.dataclass(frozen=True)
class LabeledImages:
    """Images with integer labels.

    Attributes:
      images: [N, H, W, C] float32.
      labels: [N] int32, in [0, len(class_names)).
      class_names: one name per class, in label order.
      source: where the data came from (a path or name), used in error messages.
    """
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple
    source: str = '<arrays>'

    def __post_init__(self):
        images, labels, where = self.images, self.labels, self.source
        if not isinstance(images, np.ndarray) or images.ndim != 4:
            raise TfkipError(f'{where}: images must be a [N, H, W, C] array, got shape '
                             f'{getattr(images, "shape", type(images).__name__)}')
        if not (np.issubdtype(images.dtype, np.floating)
                or np.issubdtype(images.dtype, np.integer)):
            raise TfkipError(f'{where}: images must be numeric, got dtype {images.dtype}')
        if images.dtype != np.float32:
            object.__setattr__(self, 'images', images.astype(np.float32))
        if not np.all(np.isfinite(self.images)):
            bad = np.flatnonzero(~np.isfinite(self.images).reshape(len(images), -1).all(1))
            raise TfkipError(f'{where}: {len(bad)} image(s) contain NaN or Inf pixels, '
                             f'the first at index {bad[0]}')
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != len(images):
            raise TfkipError(f'{where}: labels must be [N] with N = {len(images)} images, '
                             f'got shape {labels.shape}')
        if not np.issubdtype(labels.dtype, np.integer):
            raise TfkipError(f'{where}: labels must be integers, got dtype {labels.dtype}')
        num_classes = len(self.class_names)
        if num_classes < 2:
            raise TfkipError(f'{where}: need at least 2 classes, got {num_classes}')
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise TfkipError(f'{where}: labels must lie in [0, {num_classes}), got '
                             f'[{labels.min()}, {labels.max()}]')
        object.__setattr__(self, 'labels', labels.astype(np.int32))
        object.__setattr__(self, 'class_names', tuple(str(c) for c in self.class_names))

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def image_shape(self):
        return self.images.shape[1:]

    def __len__(self):
        return len(self.images)
