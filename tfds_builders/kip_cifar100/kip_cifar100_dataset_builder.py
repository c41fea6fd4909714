"""kip_cifar100: CIFAR-100 distilled with KIP (Nguyen et al. 2021); see README.md."""
from etils import epath

import tensorflow_datasets as tfds

from tfkip.publish.builder import KipBuilder, configs, every_variant, published_configs


class Builder(KipBuilder):
    """DatasetBuilder for kip_cifar100; its two kinds of config: `tfkip.publish.builder`."""
    VERSION = tfds.core.Version('1.0.0')
    RELEASE_NOTES = {'1.0.0': 'Initial release.'}
    CLASS_NAMES = tuple((epath.Path(__file__).parent / 'label_names.txt').read_text().split())
    IMAGE_SHAPE = (32, 32, 3)
    DEFAULT_BUILDER_CONFIG_NAME = 'convnet_zca_ipc10'
    SOURCE = 'cifar100'
    BUILDER_CONFIGS = (configs(images_per_class=(1, 10), variants=every_variant(zca=True))
                       + published_configs(SOURCE, CLASS_NAMES, IMAGE_SHAPE))
