"""What every `kip_*` TFDS builder shares: configs, features, the preprocessing metadata.

A builder in `tfds_builders/kip_<name>/` subclasses `KipBuilder`, sets the real dataset's
`CLASS_NAMES` and `IMAGE_SHAPE`, and lists its `BUILDER_CONFIGS` with `configs(...)`. It
computes nothing: it reads `<manual_dir>/<config name>.npz`, a tfkip distilled-set artifact
(with its `.json` sidecar and `.preprocess.npz`, as `tfkip publish` lays them out) or a
`.npz` published with the KIP papers (keys `images`, `labels`).

Features: `image` float32 [H, W, C] in the preprocessed (standardized / ZCA) space,
`soft_label` float32 [C] (the learned label vector), `label` the argmax class.
`as_supervised=True` gives (image, label); use the `soft_label` feature for the soft targets.
"""
import dataclasses
import json

import numpy as np
import tensorflow_datasets as tfds

from tfkip.formats import distilled_set
from tfkip.distill import methods
from tfkip.errors import TfkipError
from tfkip.kernels.architectures import ARCHITECTURES
from tfkip.formats.preprocess_stats import from_npz_bytes, to_npz_bytes

PREPROCESSING_FILE = 'preprocessing.npz'
METADATA_FILE = 'metadata.json'  # the name TFDS reads `info.metadata` from


@dataclasses.dataclass(frozen=True)
class Variant:
    """How a distilled set was made; `name` is the config name without `_ipc<N>`."""
    kernel: str | None = 'convnet'  # the network (`Method.made_with`); None: real images
    zca: bool = False
    learned_labels: bool = True
    augmentation: bool = False
    method: str = 'kip'  # a registered method that publishes under its own name (not 'ls')

    @property
    def name(self):
        # Sets of real images always have one-hot labels: no 'fixedlabels' to say.
        fixed = not self.learned_labels and self.kernel is not None
        return '_'.join(([] if self.method == 'kip' else [self.method])
                        + ([self.kernel] if self.kernel else [])
                        + (['zca'] if self.zca else [])
                        + (['fixedlabels'] if fixed else [])
                        + (['aug'] if self.augmentation else []))


class KipConfig(tfds.core.BuilderConfig):
    """`<variant>_ipc<N>`, e.g. `convnet_zca_ipc10` or `rfad_convnet_ipc1`."""

    def __init__(self, variant, images_per_class):
        self.variant, self.images_per_class = variant, images_per_class
        labels = 'learned labels' if variant.learned_labels else 'one-hot labels'
        super().__init__(
            name=f'{variant.name}_ipc{images_per_class}',
            description=f'{methods.get(variant.method).title.format(variant.kernel)}, '
                        f'{images_per_class} image(s) per class, '
                        f'{"regularized ZCA" if variant.zca else "standardized"} images, '
                        f'{labels}{", augmentation" if variant.augmentation else ""}.')


def every_variant(zca):
    """Every way tfkip makes a set, on images standardized (zca=False) or ZCA-whitened: each
    registered method (`tfkip.distill.methods`; Label Solve publishes as KIP) on each
    architecture of the kernel table, labels learned or fixed if it learns, with or without
    augmentation if its loss takes it; sets of real images once, with one-hot labels."""
    variants = []
    for method in methods.REGISTRY.values():
        if method.publishes_as != method.name:
            continue
        if not method.learns:
            variants.append(Variant(None, zca=zca, learned_labels=False, method=method.name))
            continue
        variants += [Variant(kernel, zca=zca, learned_labels=learned, augmentation=aug,
                             method=method.name)
                     for kernel in ARCHITECTURES
                     for learned in (True, False)
                     for aug in ((False, True) if method.augments else (False,))]
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

    def set_stats(self, stats):
        """Holds `stats` (or None) and its JSON description."""
        self.clear()
        self.update(stats.describe() if stats is not None else {})
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
    Put the distilled set as `<manual_dir>/<config name>.npz` (e.g. `convnet_zca_ipc10.npz`):
    a tfkip artifact with its `.json` and `.preprocess.npz` (`tfkip publish` does this for
    you), or a `.npz` published with the KIP papers (keys `images`, `labels`).
    """
    CLASS_NAMES = ()
    IMAGE_SHAPE = ()

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
        path = dl_manager.manual_dir / f'{self.builder_config.name}.npz'
        if not path.exists():
            raise TfkipError(f'{path} not found: {self.MANUAL_DOWNLOAD_INSTRUCTIONS.strip()}')
        distilled = distilled_set.load(str(path))
        distilled.check_matches(self.IMAGE_SHAPE, len(self.CLASS_NAMES),
                                f'builder {self.name}/{self.builder_config.name}')
        stats = distilled_set.load_preprocessing(distilled)
        self.info.metadata.set_stats(stats)
        return {'train': self._generate_examples(distilled)}

    def _generate_examples(self, distilled):
        for i, (image, soft_label, label) in enumerate(
                zip(distilled.images, distilled.labels, distilled.class_ids)):
            yield i, {'image': image, 'soft_label': soft_label, 'label': int(label)}

