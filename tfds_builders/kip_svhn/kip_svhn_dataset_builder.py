"""kip_svhn: SVHN (cropped digits) distilled with KIP (Nguyen et al. 2021); see README.md."""
import tensorflow_datasets as tfds

from tfkip.publish.builder import KipBuilder, configs, every_variant, published_configs


class Builder(KipBuilder):
    """DatasetBuilder for kip_svhn; its two kinds of config: `tfkip.publish.builder`."""
    VERSION = tfds.core.Version('1.0.0')
    RELEASE_NOTES = {'1.0.0': 'Initial release.'}
    CLASS_NAMES = tuple(str(d) for d in range(10))
    IMAGE_SHAPE = (32, 32, 3)
    FLIPS = False
    DEFAULT_BUILDER_CONFIG_NAME = 'convnet_zca_ipc10'
    SOURCE = 'svhn_cropped'
    BUILDER_CONFIGS = (configs(images_per_class=(1, 10, 50), variants=every_variant(zca=True))
                       + published_configs(SOURCE, CLASS_NAMES, IMAGE_SHAPE))
