"""What every `kip_*` TFDS builder shares: configs, features, the preprocessing metadata.

A builder in `tfds_builders/kip_<name>/` subclasses `KipBuilder`, sets the real dataset's
facts (`CLASS_NAMES`, `IMAGE_SHAPE`, its TFDS name `SOURCE`, whether `FLIPS` suit it), and
lists its `BUILDER_CONFIGS` with `configs(...)` and `published_configs(...)`. Two kinds of
config:

- tfkip's own sets (`KipConfig`): it reads `<manual_dir>/<config name>.npz`, a tfkip
  distilled-set artifact (with its `.json` sidecar and `.preprocess.npz`, as `tfkip publish`
  lays them out) and computes nothing.
- the sets the KIP and RFAD authors published (`PublishedConfig`, `published_*`): it downloads
  the set (`tfkip.publish.published`), or takes the authors' file from the manual dir, and
  computes the authors' preprocessing from `SOURCE`'s train split, read through TFDS.

Features: `image` float32 [H, W, C] in the preprocessed (standardized / ZCA) space,
`soft_label` float32 [C] (the learned label vector), `label` the argmax class.
`as_supervised=True` gives (image, label); use the `soft_label` feature for the soft targets.
"""
import dataclasses
import json

import numpy as np
import tensorflow_datasets as tfds

from tfkip import _net
from tfkip.formats import distilled_set
from tfkip.distill import methods
from tfkip.errors import TfkipError
from tfkip.kernels.architectures import ARCHITECTURES
from tfkip.formats.preprocess_stats import from_npz_bytes, to_npz_bytes
from tfkip.publish import published as published_sets

PREPROCESSING_FILE = 'preprocessing.npz'
FACTORS = (1, 2)  # the multi-formation factors published: IDC's and IDM's is 2
METADATA_FILE = 'metadata.json'  # the name TFDS reads `info.metadata` from


@dataclasses.dataclass(frozen=True)
class Variant:
    """How a distilled set was made; `name` is the config name without `_ipc<N>`."""
    kernel: str | None = 'convnet'  # the network (`Method.made_with`); None: real images
    zca: bool = False
    learned_labels: bool = True
    augmentation: bool = False
    method: str = 'kip'  # a registered method that publishes under its own name (not 'ls')
    factor: int = 1  # multi-formation (`tfkip.distill.formation`): sub-images per side

    @property
    def name(self):
        # Sets of real images always have one-hot labels: no 'fixedlabels' to say.
        fixed = not self.learned_labels and self.kernel is not None
        return '_'.join(([] if self.method == 'kip' else [self.method])
                        + ([self.kernel] if self.kernel else [])
                        + (['zca'] if self.zca else [])
                        + (['fixedlabels'] if fixed else [])
                        + (['aug'] if self.augmentation else [])
                        + ([f'f{self.factor}'] if self.factor > 1 else []))


class KipConfig(tfds.core.BuilderConfig):
    """`<variant>_ipc<N>`, e.g. `convnet_zca_ipc10` or `rfad_convnet_ipc1`."""

    def __init__(self, variant, images_per_class):
        self.variant, self.images_per_class = variant, images_per_class
        labels = 'learned labels' if variant.learned_labels else 'one-hot labels'
        super().__init__(
            name=f'{variant.name}_ipc{images_per_class}',
            description=f'{methods.get(variant.method).title.format(variant.kernel)}, '
                        f'{images_per_class} image(s) per class'
                        + (f' stored, each {variant.factor} x {variant.factor} sub-images '
                           f'({images_per_class * variant.factor ** 2} rows per class)'
                           if variant.factor > 1 else '') + ', '
                        f'{"regularized ZCA" if variant.zca else "standardized"} images, '
                        f'{labels}{", augmentation" if variant.augmentation else ""}.')

    @property
    def kernel(self):
        """The `KernelConfig` fields the config's name tells (the rest is in the artifact)."""
        return {'architecture': self.variant.kernel} if self.variant.kernel else {}


class PublishedConfig(tfds.core.BuilderConfig):
    """`published_<method>_<architecture>[_zca][_fixedlabels][_aug]_ipc<N>`: a set its
    authors published (`tfkip.publish.published.PublishedSet`)."""

    def __init__(self, published):
        self.published = published
        super().__init__(name=published.name, description=published.describe())

    @property
    def kernel(self):
        return self.published.kernel

    @property
    def images_per_class(self):
        return self.published.images_per_class


def published_configs(dataset, class_names, image_shape):
    """BuilderConfigs of every set the authors published for the TFDS dataset `dataset`, of
    `class_names` and images of `image_shape`."""
    return [PublishedConfig(p) for p in published_sets.published_sets(
        dataset, len(class_names), colour=image_shape[-1] == 3)]


def every_variant(zca):
    """Every way tfkip makes a set, on images standardized (zca=False) or ZCA-whitened: each
    registered method (`tfkip.distill.methods`; Label Solve publishes as KIP) on each
    architecture of the kernel table, labels learned or fixed if it learns, with or without
    augmentation if its loss takes it, at each multi-formation factor of `FACTORS` if it
    learns; sets of real images once, with one-hot labels."""
    variants = []
    for method in methods.REGISTRY.values():
        if method.publishes_as != method.name:
            continue
        if not method.learns:
            variants.append(Variant(None, zca=zca, learned_labels=False, method=method.name))
            continue
        variants += [Variant(kernel, zca=zca, learned_labels=learned, augmentation=aug,
                             method=method.name, factor=factor)
                     for kernel in ARCHITECTURES
                     for learned in (True, False)
                     for aug in ((False, True) if method.augments else (False,))
                     for factor in FACTORS]
    return variants


def configs(images_per_class, variants):
    """BuilderConfigs for every (variant, images per class); the first one is the default."""
    return [KipConfig(v, ipc) for v in variants for ipc in images_per_class]


class PreprocessingMetadata(tfds.core.Metadata):
    """`info.metadata`: the statistics' JSON description, and `.stats`.

    Saved as `metadata.json` (which TFDS reads back as `info.metadata` even without tfkip's
    builders) and `preprocessing.npz` beside the TFRecords. `.stats` is the
    `tfkip.preprocess.PreprocessStats` that maps real images into the distilled set's space
    (None for sets published without them).
    """

    def __init__(self, stats=None):
        super().__init__()
        self.set_stats(stats)

    def set_stats(self, stats, provenance=None):
        """Holds `stats` (or None) and its JSON description, with `provenance` (where a
        published set came from) under 'published'."""
        self.clear()
        self.update(stats.describe() if stats is not None else {})
        if provenance:
            self['published'] = provenance
        self.stats = stats

    def save_metadata(self, data_dir):
        directory = tfds.core.Path(data_dir)
        directory.joinpath(METADATA_FILE).write_text(json.dumps(dict(self)))
        if self.stats is not None:
            directory.joinpath(PREPROCESSING_FILE).write_bytes(to_npz_bytes(self.stats))

    def load_metadata(self, data_dir):
        directory = tfds.core.Path(data_dir)
        self.clear()
        self.update(json.loads(directory.joinpath(METADATA_FILE).read_text()))
        path = directory.joinpath(PREPROCESSING_FILE)
        self.stats = from_npz_bytes(path.read_bytes(), str(path)) if path.exists() else None


class KipBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the `kip_*` builders (not registered itself: it is no dataset). Each builder
    declares its own VERSION and RELEASE_NOTES."""
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    tfkip's sets: put the distilled set as `<manual_dir>/<config name>.npz` (e.g.
    `convnet_zca_ipc10.npz`), a tfkip artifact with its `.json` and `.preprocess.npz`
    (`tfkip publish` does this for you). `published_*` configs download their set; to use a
    copy you downloaded, put it in the manual dir under its own name (e.g.
    `ConvNet_ssize100_zca_l_noaug_ckpt1000.npz`) or as `<config name>.npz`.
    """
    # The dataset's facts, declared by each builder and read from here by the rest of tfkip.
    CLASS_NAMES = ()
    IMAGE_SHAPE = ()
    SOURCE = None  # the real dataset's TFDS name: the published sets' preprocessing is fit on it
    FLIPS = True  # its images may be mirrored (DSA's flip); digits have a handedness

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                'image': tfds.features.Tensor(shape=self.IMAGE_SHAPE, dtype=np.float32),
                'soft_label': tfds.features.Tensor(shape=(len(self.CLASS_NAMES),),
                                                   dtype=np.float32),
                'label': tfds.features.ClassLabel(names=self.CLASS_NAMES),
            }),
            supervised_keys=('image', 'label'),
            metadata=PreprocessingMetadata())

    def _split_generators(self, dl_manager):
        config = self.builder_config
        if isinstance(config, PublishedConfig):
            distilled, provenance = self._download_published(config.published, dl_manager)
            stats = published_sets.preprocessing(config.published, self.source_train_images(),
                                                 self.CLASS_NAMES)
        else:
            manual = _manual_dir(dl_manager)
            path = manual / f'{config.name}.npz' if manual else None
            if path is None or not path.exists():
                raise TfkipError(
                    f'{self.name}/{config.name} is a set you distil (no '
                    f'{path or config.name + ".npz"} in the manual dir): `tfkip distill` '
                    f'makes one, then `tfkip publish --artifact SET.npz --dataset {self.name} '
                    f'--config {config.name}`; {self._published_hint()}')
            distilled, provenance = distilled_set.load(str(path)), None
            stats = distilled_set.load_preprocessing(distilled)
        distilled.check_matches(self.IMAGE_SHAPE, len(self.CLASS_NAMES),
                                f'builder {self.name}/{config.name}')
        self.info.metadata.set_stats(stats, provenance)
        return {'train': self._generate_examples(distilled)}

    def _published_hint(self):
        published = [c.name for c in self.BUILDER_CONFIGS if isinstance(c, PublishedConfig)]
        return (f"or load a set its authors published, e.g. tfds.load('{self.name}/"
                f"{published[0]}')" if published else 'docs/publish.md says more')

    def _download_published(self, published, dl_manager):
        """(DistilledSet, provenance): the authors' file from the manual dir if there, else
        the best checkpoint in their index (KIP, LS) or their file (RFAD), downloaded."""
        found = _manual_files(dl_manager, published)
        if len(found) > 1:
            raise TfkipError(f'{found[0].parent} holds {len(found)} files of {published.name} '
                             f'({", ".join(p.name for p in found)}): keep one, or name the one '
                             f'to use {published.name}.npz')
        if found:
            path, provenance = found[0], {'file': found[0].name}
        elif published.method == 'rfad':
            url = published_sets.RFAD_URL.format(dataset=published.dataset,
                                                 ipc=published.images_per_class)
            path, provenance = _download(dl_manager, url, published), {'url': url}
        else:
            index_url = published_sets.INDEX_URLS[published.method]
            row = published_sets.best_row(
                _download(dl_manager, index_url, published).read_text(), published, index_url)
            path = _download(dl_manager, row['URL'], published)
            provenance = {'url': row['URL'], 'index': index_url, 'checkpoint': row.get('ckpt'),
                          'index_test_acc': float(row['test_acc'])}
        return published_sets.read_set(path.read_bytes(), published, path.name), provenance

    def source_train_images(self):
        """[N, H, W, C] the raw train images of `SOURCE`, in TFDS order (read through TFDS
        into this builder's data_dir, downloaded and prepared there if need be)."""
        images, _ = tfds.as_numpy(tfds.load(
            self.SOURCE, split='train', batch_size=-1, as_supervised=True,
            data_dir=self.data_dir_root, shuffle_files=False))
        return images

    def _generate_examples(self, distilled):
        images, labels = distilled.training_set()  # a multi-formation set's sub-images
        for i, (image, soft_label) in enumerate(zip(images, labels)):
            yield i, {'image': image, 'soft_label': soft_label, 'label': int(soft_label.argmax())}



def _download(dl_manager, url, published):
    """dl_manager.download(url), a failure a one-line TfkipError that says how to do without."""
    return _net.download(
        lambda: dl_manager.download(url), check=url, failed=f'could not download {url}',
        instead=f"give the authors' file of {published.name} (tfkip publish --artifact, or "
                'the manual dir)')


def _manual_files(dl_manager, published):
    """The files of a `PublishedSet` in the manual dir: `<config name>.npz`, else those under
    the authors' own names."""
    manual = _manual_dir(dl_manager)
    if manual is None:
        return []
    if (manual / f'{published.name}.npz').exists():
        return [manual / f'{published.name}.npz']
    return sorted(manual.glob(published.authors_files)) if published.authors_files else []


def _manual_dir(dl_manager):
    """The manual dir, or None where there is none or it is empty (TFDS raises then)."""
    try:
        return dl_manager.manual_dir
    except (AssertionError, ValueError):
        return None
