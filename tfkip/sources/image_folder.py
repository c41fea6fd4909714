"""ImageFolder sources: `<root>/<split>/<class name>/<image file>`, PNG or JPEG.

Class ids are the sorted class folder names, the convention of
`tfds.folder_dataset.ImageFolder` and torchvision. Files are read through `tf.io.gfile`, so
`root` may be a local folder or a cloud bucket (`gs://...`) alike. Images decode to uint8
[H, W, C]; every image of a split must have the shape of its first image.
"""
import io
import posixpath

import numpy as np
from PIL import Image

from tfkip._tf import gfile
from tfkip.errors import TfkipError
from tfkip.sources.base import Batch, Shard, SplitInfo, Source, as_hwc, check_image

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')


def decode_image(path):
    """Path -> [H, W] or [H, W, C] uint8 array; TfkipError naming the file if it is no image."""
    try:
        with gfile().GFile(path, 'rb') as f, Image.open(io.BytesIO(f.read())) as image:
            return np.asarray(image)
    except Image.UnidentifiedImageError:
        raise TfkipError(f'cannot decode image {path}: not an image file PIL can read') from None
    except (OSError, ValueError) as e:
        raise TfkipError(f'cannot decode image {path}: {e}') from None


def _subfolders(fs, path):
    """Sorted names of the folders directly inside `path`."""
    return sorted(d.rstrip('/') for d in fs.listdir(path) if fs.isdir(posixpath.join(path, d)))


class ImageFolder(Source):
    """An ImageFolder tree; `shard_size` images per shard."""

    @classmethod
    def from_spec(cls, spec, *, tfds_data_dir=None):
        return cls(spec) if gfile().isdir(spec) else None

    def __init__(self, root, *, shard_size=1000):
        self.root, self.name, self.shard_size = root.rstrip('/'), root.rstrip('/'), shard_size
        self._listing = {}

    def _list(self, split):
        """([(key, label)], class names, image shape), key = '<class>/<file>'; checks that the
        split and every class exist and are non-empty. The shape is the first image's."""
        if split not in self._listing:
            fs, split_dir = gfile(), posixpath.join(self.root, split)
            if not fs.isdir(split_dir):
                present = _subfolders(fs, self.root) if fs.isdir(self.root) else []
                raise TfkipError(f'split {split!r} not found: no folder {split_dir} '
                                 f'(splits present: {present or "none"})')
            class_names = _subfolders(fs, split_dir)
            if not class_names:
                raise TfkipError(f'{split_dir} has no class folders (<split>/<class>/<image>)')
            items = []
            for label, name in enumerate(class_names):
                class_dir = posixpath.join(split_dir, name)
                files = sorted(f for f in fs.listdir(class_dir)
                               if f.lower().endswith(IMAGE_EXTENSIONS))
                if not files:
                    raise TfkipError(f'class folder {class_dir} holds no images '
                                     f'{IMAGE_EXTENSIONS}')
                items += [(f'{name}/{f}', label) for f in files]
            first = posixpath.join(split_dir, items[0][0])
            shape = as_hwc(decode_image(first)).shape
            self._listing[split] = items, tuple(class_names), tuple(shape)
        return self._listing[split]

    def info(self, split):
        items, class_names, shape = self._list(split)
        return SplitInfo(class_names, shape, len(items))

    def shards(self, split):
        items, _, shape = self._list(split)
        return [Shard(split, (shape, tuple(items[i:i + self.shard_size])))
                for i in range(0, len(items), self.shard_size)]

    def read(self, shard):
        shape, items = shard.payload
        paths = [posixpath.join(self.root, shard.split, key) for key, _ in items]
        images = np.stack([check_image(decode_image(path), shape, path) for path in paths])
        return Batch(images, np.array([label for _, label in items], np.int32),
                     np.array([key for key, _ in items]))
