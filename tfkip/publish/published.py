"""The sets the KIP and RFAD authors published, as configs of the `kip_*` TFDS builders.

KIP and Label Solve (Nguyen et al. 2021): the bucket `gs://kip-datasets`, read over HTTPS at
`https://storage.googleapis.com/kip-datasets/`, indexed by `kip/kip.csv` (columns
architecture, dataset, ssize, zca, l, aug, ckpt, test_acc, test_mse, URL; one row per
checkpoint) and `ls/ls.csv` (the same without aug); files `images` [N, H, W, C] and
`labels` [N, C]. A config is one (architecture, support size, zca, label learning,
augmentation) variant; the builder downloads the index, takes the variant's checkpoint with
the highest `test_acc` in it (ties: the lower test_mse, then the later checkpoint) and
downloads that file. The index's accuracies are on the real test split, so the chosen
checkpoint's figure there is an optimistic one.

RFAD (Loo et al. 2022): `distilled_images_final/cifar10/<ipc>/best.npz` in the authors'
repository (`images` [N, C, H, W], `labels`), at the commit recorded in `RFAD_URL`.

Architectures: the KIP authors' `ConvNet` is their ConvNet with an extra first conv layer
(`prepend_conv`), `ConvNet3` the plain three-block one; RFAD's is the three-block ConvNet.
Each set comes with its authors' preprocessing (`tfkip.preprocess.published`), computed
from the source dataset's train split read through TFDS.
"""
import csv
import dataclasses
import hashlib
import io

import numpy as np

from tfkip.errors import TfkipError
from tfkip.formats.distilled_set import DistilledSet, check_arrays
from tfkip.preprocess import published as recipes

BUCKET = 'https://storage.googleapis.com/kip-datasets/'
INDEX_URLS = {'kip': BUCKET + 'kip/kip.csv', 'ls': BUCKET + 'ls/ls.csv'}
RFAD_URL = ('https://github.com/yolky/RFAD/raw/c9ef03ec5633a33b12ee14d6a5ec665e0cf086c8/'
            'distilled_images_final/{dataset}/{ipc}/best.npz')
# The addresses the index may give for a file in the bucket; all are read over HTTPS.
_BUCKET_ALIASES = ('gs://kip-datasets/', 'https://storage.cloud.google.com/kip-datasets/')

# What was published for each source dataset where it differs from the rest (the KIP
# authors' dataset.ipynb, RFAD's README): support sizes, the authors' architectures.
KIP_SUPPORT_SIZES = {'cifar100': (100, 1000)}
LS_SUPPORT_SIZES = {'cifar100': (100, 500, 1000)}
NETWORKS = {'cifar10': ('ConvNet', 'ConvNet3')}
RFAD_IPC = {'cifar10': (1, 10, 50)}


@dataclasses.dataclass(frozen=True)
class PublishedSet:
    """One published variant of a source dataset (`dataset`, its TFDS name).

    `method` 'kip', 'ls' or 'rfad'; `architecture` the authors' name ('ConvNet', 'ConvNet3');
    `support_size` the number of images; `learned_labels` and `augmentation` as the index's
    `l` and `aug` columns (Label Solve's labels are solved; RFAD's one-hot, the paper's fixed-
    label configuration: so are the 1 and 10/class files).
    """
    method: str
    dataset: str
    architecture: str
    support_size: int
    num_classes: int
    zca: bool
    learned_labels: bool = True
    augmentation: bool = False

    @property
    def images_per_class(self):
        return self.support_size // self.num_classes

    @property
    def name(self):
        """The builder config's name, e.g. 'published_kip_convnet_zca_aug_ipc10'."""
        return '_'.join(['published', self.method, self.architecture.lower()]
                        + (['zca'] if self.zca else [])
                        # Only KIP publishes both label variants of a set.
                        + (['fixedlabels'] if self.method == 'kip' and not self.learned_labels
                           else [])
                        + (['aug'] if self.augmentation else [])
                        + [f'ipc{self.images_per_class}'])

    @property
    def recipe(self):
        if self.method == 'rfad':
            return recipes.RFAD_ZCA
        return recipes.KIP_ZCA if self.zca else recipes.KIP_STANDARD

    @property
    def kernel(self):
        """The `KernelConfig` fields of the kernel the set was made with."""
        return {'architecture': 'convnet', 'depth': 3,
                'prepend_conv': self.architecture == 'ConvNet',
                'kernel': 'nngp' if self.method == 'rfad' else 'ntk'}

    @property
    def file_stem(self):
        """The authors' file name without `_ckpt<step>.npz` (KIP) or `.npz` (LS)."""
        stem = f'{self.architecture}_ssize{self.support_size}_{"zca" if self.zca else "nozca"}'
        if self.method == 'kip':
            stem += (f'_{"l" if self.learned_labels else "nol"}'
                     f'_{"aug" if self.augmentation else "noaug"}')
        return stem

    @property
    def authors_files(self):
        """A glob of the authors' names for this set's files (None: RFAD's are all best.npz)."""
        return {'kip': self.file_stem + '_ckpt*.npz', 'ls': self.file_stem + '.npz'}.get(
            self.method)

    def describe(self):
        what = {'kip': 'KIP', 'ls': 'Label Solve', 'rfad': 'RFAD'}[self.method]
        labels = ('solved labels' if self.method == 'ls' else
                  'learned labels' if self.learned_labels else 'one-hot labels')
        return (f'{what} set published by its authors: {self.support_size} images '
                f'({self.images_per_class} per class) for their {self.architecture}, '
                f'{"regularized ZCA" if self.zca else "standardized"} images, {labels}'
                f'{", augmentation" if self.augmentation else ""}.')


def published_sets(dataset, num_classes, colour):
    """Every published variant of the TFDS dataset `dataset` (a builder that has published
    sets says so by listing them); `colour`: whether its images are, in which case the
    authors published ZCA-whitened variants too."""
    common = dict(dataset=dataset, num_classes=num_classes)
    sets = [PublishedSet('kip', architecture=arch, support_size=size, zca=zca,
                         learned_labels=learned, augmentation=aug, **common)
            for arch in NETWORKS.get(dataset, ('ConvNet',))
            for size in KIP_SUPPORT_SIZES.get(dataset, (10, 100, 500))
            for zca in ((True, False) if colour else (False,))
            for learned in (True, False) for aug in (False, True)]
    sets += [PublishedSet('ls', architecture=arch, support_size=size, zca=zca, **common)
             for arch in NETWORKS.get(dataset, ('ConvNet',))
             for size in LS_SUPPORT_SIZES.get(dataset, (10, 100, 500))
             for zca in ((True, False) if colour else (False,))]
    sets += [PublishedSet('rfad', architecture='ConvNet3', support_size=ipc * num_classes,
                          zca=True, learned_labels=False, **common)
             for ipc in RFAD_IPC.get(dataset, ())]
    return sets


def https(url):
    """A bucket address as the index gives it -> the HTTPS one anyone can download."""
    for alias in _BUCKET_ALIASES:
        if url.startswith(alias):
            return BUCKET + url[len(alias):]
    return url


def best_row(index_text, published, where):
    """The index row of `published` with the highest test accuracy.

    Args:
      index_text: the index CSV's text.
      published: a KIP or LS `PublishedSet`.
      where: the index's name, for errors.

    Returns:
      The row as a dict of strings, its URL made HTTPS.
    """
    def flag(value):
        return str(value).strip().lower() == 'true'

    rows = [row for row in csv.DictReader(io.StringIO(index_text))
            if row.get('architecture') == published.architecture
            and row.get('dataset') == published.dataset
            and int(row.get('ssize') or -1) == published.support_size
            and flag(row.get('zca')) == published.zca
            and (published.method == 'ls'
                 or (flag(row.get('l')) == published.learned_labels
                     and flag(row.get('aug')) == published.augmentation))]
    if not rows:
        raise TfkipError(f'{where} lists no {published.file_stem} set for '
                         f'{published.dataset}: the authors did not publish this variant')
    try:
        best = max(rows, key=lambda r: (float(r['test_acc']), -float(r['test_mse']),
                                        int(r.get('ckpt') or 0)))
    except (KeyError, ValueError) as e:
        raise TfkipError(f'{where}: a row of {published.file_stem} is malformed ({e})') from None
    return dict(best, URL=https(best['URL']))


def read_set(data, published, where):
    """The bytes of a published `.npz` -> DistilledSet ([N, H, W, C] images, [N, C] labels).

    RFAD's images are NCHW; integer labels become one-hot vectors."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            images, labels = arrays['images'], arrays['labels']
    except KeyError:
        raise TfkipError(f"{where}: a published set needs the keys 'images' and 'labels'"
                         ) from None
    except (OSError, ValueError, EOFError) as e:
        raise TfkipError(f'{where}: not a readable .npz file ({e})') from None
    if published.method == 'rfad' and images.ndim == 4:
        images = np.transpose(images, (0, 2, 3, 1))
    if labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer):
        labels = np.eye(published.num_classes, dtype=np.float32)[labels]
    images, labels = np.asarray(images, np.float32), np.asarray(labels, np.float32)
    check_arrays(images, labels, where)
    if len(images) != published.support_size:
        raise TfkipError(f'{where}: {len(images)} images, the {published.name} set has '
                         f'{published.support_size}')
    return DistilledSet(images, labels, {'path': where})


_FITTED = {}  # (recipe, sha256 of the train images) -> PreprocessStats: one fit per process


def preprocessing(published, train_images, class_names):
    """The authors' PreprocessStats for `published`, fitted on `train_images` (raw)."""
    key = (published.recipe, hashlib.sha256(np.ascontiguousarray(train_images)).hexdigest())
    if key not in _FITTED:
        _FITTED[key] = recipes.fit(published.recipe, train_images, class_names,
                                   f'tfds:{published.dataset}')
    return _FITTED[key]
