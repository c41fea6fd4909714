"""kip_cifar10: CIFAR-10 distilled with KIP (Nguyen et al. 2021); see README.md."""
import tensorflow_datasets as tfds

from tfkip.publish.builder import KipBuilder, configs, every_variant, published_configs


class Builder(KipBuilder):
    """DatasetBuilder for kip_cifar10; its two kinds of config: `tfkip.publish.builder`."""
    VERSION = tfds.core.Version('1.0.0')
    RELEASE_NOTES = {'1.0.0': 'Initial release.'}
    CLASS_NAMES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
                   'truck')
    IMAGE_SHAPE = (32, 32, 3)
    # The authors' set that measured best in the benchmark rows (a test holds it to them).
    DEFAULT_BUILDER_CONFIG_NAME = 'published_rfad_convnet3_zca_ipc1'
    SOURCE = 'cifar10'
    BUILDER_CONFIGS = (configs(images_per_class=(1, 10, 50), variants=every_variant(zca=True))
                       + published_configs(SOURCE, CLASS_NAMES, IMAGE_SHAPE))
