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
# What `save` writes about the files themselves: checked by `load`, not part of `Metadata`.
_FILE_FACTS = ('format', 'tfkip_version', 'num_examples', 'image_shape', 'num_classes',
               'sha256', 'metadata_sha256')


@dataclasses.dataclass(frozen=True)
class Metadata:
    """What a distilled set records about how it was made; every field may be None (a set
    published with the papers records nothing). JSON values throughout.

    Attributes:
      method: the registered method that made it.
      config: its `DistillConfig`, as `to_dict` wrote it (`distill_config()` reads it back).
      steps: the steps run.
      hparams: the kernel's {'W_std', 'b_std'} at the end.
      history: the held-out evaluations, [{'step', 'loss', 'eval_accuracy', 'eval_mse',
        'seconds' since the run began, 'eval_seconds' the evaluation took}].
      losses: [{'step', 'loss'}], every `log_every` steps.
      metrics: the final KRR metrics on the held-out split ({'accuracy', 'mse', ...}).
      metrics_before_label_solve: the same before a final Label Solve.
      wall_time_s: the distillation's wall time.
      class_names: the real dataset's class names.
      train_source, num_train_examples, eval_source: the data it was distilled from.
      source: the `--source` the pipeline read.
      preprocessing: the preprocessing's description (`PreprocessStats.describe()`).
      preprocessing_file: {'sha256'} of the `.preprocess.npz` saved beside it.
      extra: what the method records of its own (`Method.finish`: 'platt_temperature',
        'dd_step_sizes', ...).
      path: the `.npz` it was loaded from (not saved).
    """
    method: str | None = None
    config: dict | None = None
    steps: int | None = None
    hparams: dict | None = None
    history: list = dataclasses.field(default_factory=list)
    losses: list = dataclasses.field(default_factory=list)
    metrics: dict | None = None
    metrics_before_label_solve: dict | None = None
    wall_time_s: float | None = None
    class_names: list | None = None
    train_source: str | None = None
    num_train_examples: int | None = None
    eval_source: str | None = None
    source: str | None = None
    preprocessing: dict | None = None
    preprocessing_file: dict | None = None
    extra: dict = dataclasses.field(default_factory=dict)
    path: str | None = None

    @classmethod
    def from_dict(cls, values):
        """From a sidecar's (or any) dict: known names to fields, the file facts dropped,
        the rest (a method's own) into `extra`."""
        names = {f.name for f in dataclasses.fields(cls)} - {'extra'}
        return cls(**{k: v for k, v in values.items() if k in names},
                   extra={k: v for k, v in values.items()
                          if k not in names and k not in _FILE_FACTS})

    def to_dict(self):
        """The sidecar's entries: the fields but `path`, with `extra` merged in."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name not in ('extra', 'path')}
        return {**out, **self.extra}

    def distill_config(self):
        """The `DistillConfig` it was made with, or None if it records none."""
        if self.config is None:
            return None
        from tfkip.distill.config import DistillConfig
        try:
            return DistillConfig.from_dict(self.config)
        except TypeError as e:  # a field this version does not know
            raise TfkipError(f'{self.path or "the distilled set"} records a config this tfkip '
                             f'cannot read ({e})') from None


@dataclasses.dataclass(frozen=True)
class DistilledSet:
    """A distilled (synthetic) labelled set, as stored.

    Attributes:
      images: [N, H, W, C] float32, in the preprocessed (e.g. standardized) space; with a
        multi-formation factor (`factor`), each holds factor x factor sub-images
        (`training_set` decodes them).
      labels: [N, C] float32, soft labels (KIP encoding: one-hot minus 1/C at init), one per
        stored image.
      metadata: how it was made (`Metadata`; a dict is read with `Metadata.from_dict`).
    """
    images: np.ndarray
    labels: np.ndarray
    metadata: Metadata = dataclasses.field(default_factory=Metadata)

    def __post_init__(self):
        check_arrays(self.images, self.labels, '<DistilledSet>')
        if isinstance(self.metadata, dict):
            object.__setattr__(self, 'metadata', Metadata.from_dict(self.metadata))

    @property
    def num_classes(self):
        return self.labels.shape[1]

    def check_matches(self, image_shape, num_classes, where='the data'):
        """Raises TfkipError unless images are `image_shape` and labels have `num_classes`."""
        source = self.metadata.path or '<distilled set>'
        if tuple(self.images.shape[1:]) != tuple(image_shape):
            raise TfkipError(f'{source}: distilled images are {tuple(self.images.shape[1:])}, '
                             f'but {where} has images {tuple(image_shape)}')
        if self.num_classes != num_classes:
            raise TfkipError(f'{source}: distilled labels have {self.num_classes} classes, '
                             f'but {where} has {num_classes}')

    @property
    def factor(self):
        """The multi-formation factor it was made with (1 for sets that record none)."""
        return (self.metadata.config or {}).get('factor', 1)

    def training_set(self):
        """(images [N * factor**2, H, W, C] float32, labels [N * factor**2, C] float32): what
        a network or a kernel trains on (`tfkip.distill.formation.decode`); the stored arrays
        themselves at factor 1."""
        if self.factor == 1:
            return self.images, self.labels
        from tfkip.distill.formation import decode
        images, labels = decode(self.images, self.labels, self.factor)
        return np.asarray(images, np.float32), np.asarray(labels, np.float32)

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
    # What this save writes anew: the statistics entry (the path is not saved).
    metadata = dict(distilled.metadata.to_dict(), preprocessing_file=None)
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
    """Loads and validates a distilled set; its `metadata.path` is the .npz path.

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
                        Metadata.from_dict(dict(metadata, path=npz_path)))


def load_preprocessing(distilled):
    """The `PreprocessStats` saved with a loaded distilled set, or None if it has none."""
    entry = distilled.metadata.preprocessing_file
    if entry is None:
        return None
    path = _preprocess_path(distilled.metadata.path)
    try:
        with gfile().GFile(path, 'rb') as f:
            data = f.read()
    except (OSError, tf().errors.OpError) as e:
        raise TfkipError(f'{path}: preprocessing statistics of the distilled set are '
                         f'missing ({e})') from None
    if hashlib.sha256(data).hexdigest() != entry['sha256']:
        raise TfkipError(f'{path} does not match the checksum in the sidecar')
    return from_npz_bytes(data, path)
