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

from tfkip.artifacts import distilled_set
from tfkip.errors import TfkipError
from tfkip.preprocess import from_npz_bytes, to_npz_bytes

PREPROCESSING_FILE = 'preprocessing.npz'
METADATA_FILE = 'metadata.json'  # the name TFDS reads `info.metadata` from


METHODS = {'kip': 'KIP with the infinite-width {} kernel',
           'rfad': 'RFAD (random features of finite {} networks, approximating the NNGP)',
           'dd': 'DD (Wang et al. 2018: learned through the training of a finite {})',
           'random': 'a random class-balanced subset of the real images',
           'herding': 'a herding coreset of the real images',
           'kcenter': 'a k-center greedy coreset of the real images'}
CORESETS = ('random', 'herding', 'kcenter')  # real images, one-hot labels: no kernel


@dataclasses.dataclass(frozen=True)
class Variant:
    """How a distilled set was made; `name` is the config name without `_ipc<N>`."""
    kernel: str | None = 'convnet'  # 'convnet' or 'fc' (the network, for DD); None: coresets
    zca: bool = False
    learned_labels: bool = True
    augmentation: bool = False
    method: str = 'kip'  # a key of METHODS; 'kip' covers Label Solve too

    @property
    def name(self):
        fixed = not self.learned_labels and self.method not in CORESETS  # coresets: always
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
            description=f'{METHODS[variant.method].format(variant.kernel)}, '
                        f'{images_per_class} image(s) per class, '
                        f'{"regularized ZCA" if variant.zca else "standardized"} images, '
                        f'{labels}{", augmentation" if variant.augmentation else ""}.')


def every_variant(zca):
    """Every way tfkip makes a set, on images standardized (zca=False) or ZCA-whitened: KIP
    (and Label Solve) and RFAD on either kernel, labels learned or fixed, with or without
    augmentation in the loss; DD on either network, labels learned or fixed; the coresets."""
    return ([Variant(kernel, zca=zca, learned_labels=learned, augmentation=aug, method=method)
             for method in ('kip', 'rfad') for kernel in ('convnet', 'fc')
             for learned in (True, False) for aug in (False, True)]
            + [Variant(network, zca=zca, learned_labels=learned, method='dd')
               for network in ('convnet', 'fc') for learned in (True, False)]
            + [Variant(None, zca=zca, learned_labels=False, method=m) for m in CORESETS])


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
    """Base of the `kip_*` builders (not registered itself: it is no dataset)."""
    VERSION = tfds.core.Version('1.0.0')
    RELEASE_NOTES = {'1.0.0': 'Initial release.'}
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

