"""The distilled-set artifact shared by every method: `<name>.npz` + `<name>.json`.

`<name>.npz` holds `images` [N, H, W, C] float32 and `labels` [N, C] float32, the
keys of the KIP datasets published with the papers, so those files load too. The JSON
sidecar holds everything needed to trust and reuse it: the tfkip version, the full
config, the source dataset and its class names, the preprocessing, the steps run,
the metrics, the SHA-256 of the `.npz` and the SHA-256 of the sidecar's own content
(`metadata_sha256`), so that an edited sidecar is refused like an edited array file. A
published `.npz` without a sidecar loads with empty metadata. When saved with the
preprocessing statistics, they go to `<name>.preprocess.npz`
(`tfkip.formats.preprocess_stats`), recorded with its checksum in the sidecar: what is needed
to bring real images into the distilled set's space. The files find each other by their
common `<name>`, so the three can be moved, copied or renamed together.
"""
import dataclasses
import hashlib
import io
import json
import zipfile

import numpy as np

from tfkip._io import atomic_path, sha256, write_text
from tfkip._tf import gfile, tf
from tfkip.errors import TfkipError
from tfkip.formats.preprocess_stats import from_npz_bytes, to_npz_bytes
from tfkip.version import __version__

FORMAT = 'tfkip.distilled_set/1'


@dataclasses.dataclass(frozen=True)
class DistilledSet:
    """A distilled (synthetic) labelled set.

    Attributes:
      images: [N, H, W, C] float32, in the preprocessed (e.g. standardized) space.
      labels: [N, C] float32, soft labels (KIP encoding: one-hot minus 1/C at init).
      metadata: JSON-serialisable dict (see module docstring).
    """
    images: np.ndarray
    labels: np.ndarray
    metadata: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        check_arrays(self.images, self.labels, '<DistilledSet>')

    @property
    def num_classes(self):
        return self.labels.shape[1]

    def check_matches(self, image_shape, num_classes, where='the data'):
        """Raises TfkipError unless images are `image_shape` and labels have `num_classes`."""
        source = self.metadata.get('path', '<distilled set>')
        if tuple(self.images.shape[1:]) != tuple(image_shape):
            raise TfkipError(f'{source}: distilled images are {tuple(self.images.shape[1:])}, '
                             f'but {where} has images {tuple(image_shape)}')
        if self.num_classes != num_classes:
            raise TfkipError(f'{source}: distilled labels have {self.num_classes} classes, '
                             f'but {where} has {num_classes}')

    @property
    def class_ids(self):
        """[N] int32, the argmax class of each soft label."""
        return np.argmax(self.labels, axis=1).astype(np.int32)


def check_arrays(images, labels, where):
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        raise TfkipError(f'{where}: images must be [N, H, W, C], got shape '
                         f'{getattr(images, "shape", None)}')
    if not isinstance(labels, np.ndarray) or labels.ndim != 2:
        raise TfkipError(f'{where}: labels must be [N, C] soft labels, got shape '
                         f'{getattr(labels, "shape", None)}')
    if len(images) != len(labels):
        raise TfkipError(f'{where}: {len(images)} images but {len(labels)} labels')
    for name, array in (('images', images), ('labels', labels)):
        if not np.issubdtype(array.dtype, np.floating):
            raise TfkipError(f'{where}: {name} must be floating point, got {array.dtype}')
        if not np.all(np.isfinite(array)):
            raise TfkipError(f'{where}: {name} contain NaN or Inf')


def _paths(path):
    base = path[:-4] if path.endswith('.npz') else path
    return base + '.npz', base + '.json'


def _preprocess_path(npz_path):
    return npz_path[:-4] + '.preprocess.npz'


def _digest(sidecar):
    """SHA-256 of the sidecar's content less its own digest, as JSON reads it back."""
    content = {k: v for k, v in json.loads(json.dumps(sidecar)).items() if k != 'metadata_sha256'}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def save(distilled, path, *, preprocessing=None):
    """Writes `<path>.npz` and `<path>.json` (and `<path>.preprocess.npz` from the
    `PreprocessStats` `preprocessing`, if given) atomically; returns the .npz path."""
    npz_path, json_path = _paths(path)
    # What this save writes anew: the path it is loaded from, the statistics entry.
    metadata = {k: v for k, v in distilled.metadata.items()
                if k not in ('path', 'preprocessing_file')}
    if preprocessing is not None:
        data = to_npz_bytes(preprocessing)
        with atomic_path(_preprocess_path(npz_path)) as tmp, open(tmp, 'wb') as f:
            f.write(data)
        metadata['preprocessing_file'] = {'sha256': hashlib.sha256(data).hexdigest()}
    with atomic_path(npz_path) as tmp:
        with open(tmp, 'wb') as f:
            np.savez(f, images=distilled.images.astype(np.float32),
                     labels=distilled.labels.astype(np.float32))
        checksum = sha256(tmp)
    sidecar = dict(metadata, format=FORMAT, tfkip_version=__version__,
                   num_examples=len(distilled.images),
                   image_shape=list(distilled.images.shape[1:]),
                   num_classes=distilled.num_classes, sha256=checksum)
    sidecar['metadata_sha256'] = _digest(sidecar)
    write_text(json_path, json.dumps(sidecar, indent=2, sort_keys=True) + '\n')
    return npz_path


def load(path):
    """Loads and validates a distilled set; `metadata['path']` is set to the .npz path.

    Args:
      path: `<name>.npz` or `<name>`; the sidecar `<name>.json` is read if present.

    Raises:
      TfkipError: a missing or unreadable file, missing keys, bad shapes or values,
        or a checksum that does not match the sidecar.
    """
    npz_path, json_path = _paths(path)
    fs = gfile()
    if not fs.exists(npz_path):
        raise TfkipError(f'distilled set not found: {npz_path}')
    with fs.GFile(npz_path, 'rb') as f:
        data = f.read()
    metadata = {}
    if fs.exists(json_path):
        try:
            with fs.GFile(json_path) as f:
                metadata = json.load(f)
        except (OSError, ValueError) as e:
            raise TfkipError(f'{json_path}: not a readable JSON sidecar ({e})') from None
        if metadata.get('metadata_sha256') and metadata['metadata_sha256'] != _digest(metadata):
            raise TfkipError(f'{json_path} does not match its own checksum: the sidecar was '
                             'edited after it was written')
        if metadata.get('sha256') and metadata['sha256'] != hashlib.sha256(data).hexdigest():
            raise TfkipError(f'{npz_path} does not match the checksum in {json_path}: '
                             'the file was changed or truncated after it was written')
    try:
        with np.load(io.BytesIO(data)) as arrays:
            missing = {'images', 'labels'} - set(arrays.files)
            if missing:
                raise TfkipError(f'{npz_path}: missing keys {sorted(missing)} '
                                 f'(has {sorted(arrays.files)}); a distilled set needs '
                                 "'images' [N, H, W, C] and 'labels' [N, C]")
            images, labels = arrays['images'], arrays['labels']
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise TfkipError(f'{npz_path}: not a readable .npz file ({e})') from None
    check_arrays(images, labels, npz_path)
    return DistilledSet(images.astype(np.float32), labels.astype(np.float32),
                        dict(metadata, path=npz_path))


def load_preprocessing(distilled):
    """The `PreprocessStats` saved with a loaded distilled set, or None if it has none."""
    entry = distilled.metadata.get('preprocessing_file')
    if entry is None:
        return None
    path = _preprocess_path(distilled.metadata['path'])
    try:
        with gfile().GFile(path, 'rb') as f:
            data = f.read()
    except (OSError, tf().errors.OpError) as e:
        raise TfkipError(f'{path}: preprocessing statistics of the distilled set are '
                         f'missing ({e})') from None
    if hashlib.sha256(data).hexdigest() != entry['sha256']:
        raise TfkipError(f'{path} does not match the checksum in the sidecar')
    return from_npz_bytes(data, path)
