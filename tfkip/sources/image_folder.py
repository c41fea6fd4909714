"""Read an ImageFolder split (`<root>/<split>/<class name>/<image file>`) into memory.

Class ids are the sorted class folder names, the convention of
`tfds.folder_dataset.ImageFolder` and torchvision. Pixels are returned as float32
in [0, 255]; decoding runs in a thread pool (PIL releases the GIL).
"""
import concurrent.futures
import os

import numpy as np
from PIL import Image

from tfkip.errors import TfkipError
from tfkip.sources.dataset import LabeledImages

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.gif')


def list_image_folder(root, split):
    """([(path, class id)], class names) of `<root>/<split>`, checked for empty classes."""
    split_dir = os.path.join(root, split)
    if not os.path.isdir(split_dir):
        present = sorted(d for d in os.listdir(root)
                         if os.path.isdir(os.path.join(root, d))) if os.path.isdir(root) else []
        raise TfkipError(f'split {split!r} not found: no folder {split_dir} '
                         f'(splits present: {present or "none"})')
    class_names = sorted(d for d in os.listdir(split_dir)
                         if os.path.isdir(os.path.join(split_dir, d)))
    if not class_names:
        raise TfkipError(f'{split_dir} has no class folders (<split>/<class>/<image>)')
    files = []
    for label, name in enumerate(class_names):
        class_dir = os.path.join(split_dir, name)
        images = sorted(f for f in os.listdir(class_dir) if f.lower().endswith(IMAGE_EXTENSIONS))
        if not images:
            raise TfkipError(f'class folder {class_dir} holds no images {IMAGE_EXTENSIONS}')
        files += [(os.path.join(class_dir, f), label) for f in images]
    return files, class_names


def _decode(path):
    try:
        with Image.open(path) as image:
            array = np.asarray(image)
    except (OSError, ValueError) as e:
        raise TfkipError(f'cannot decode image {path}: {e}') from None
    return array[..., None] if array.ndim == 2 else array


def load_image_folder(root, split, *, num_workers=8):
    """Decodes every image of `<root>/<split>`.

    Returns:
      LabeledImages with images [N, H, W, C] float32 in [0, 255] and labels [N] int32.

    Raises:
      TfkipError: a missing split, an empty class, an undecodable image or images of
        different sizes, naming the file.
    """
    files, class_names = list_image_folder(root, split)
    with concurrent.futures.ThreadPoolExecutor(num_workers) as pool:
        arrays = list(pool.map(_decode, [path for path, _ in files]))
    shape = arrays[0].shape
    for (path, _), array in zip(files, arrays):
        if array.shape != shape:
            raise TfkipError(f'mixed image sizes: {path} is {array.shape}, '
                             f'{files[0][0]} is {shape}')
    images = np.stack(arrays).astype(np.float32)
    labels = np.array([label for _, label in files], np.int32)
    return LabeledImages(images, labels, tuple(class_names), source=os.path.join(root, split))
