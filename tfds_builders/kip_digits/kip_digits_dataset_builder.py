"""kip_digits: scikit-learn's 8x8 digits distilled with KIP (the quick start's set); see README.md."""
import tensorflow_datasets as tfds

from tfkip.publish.builder import KipBuilder, configs, every_variant


class Builder(KipBuilder):
    """DatasetBuilder for kip_digits; reads the distilled sets from the manual dir."""
    VERSION = tfds.core.Version('1.0.0')
    RELEASE_NOTES = {'1.0.0': 'Initial release.'}
    CLASS_NAMES = tuple(str(d) for d in range(10))
    IMAGE_SHAPE = (8, 8, 1)
    FLIPS = False
    DEFAULT_BUILDER_CONFIG_NAME = 'fc_ipc10'
    BUILDER_CONFIGS = configs(images_per_class=(1, 10, 50), variants=every_variant(zca=False))
