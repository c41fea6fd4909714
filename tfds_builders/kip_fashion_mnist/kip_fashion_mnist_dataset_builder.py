"""kip_fashion_mnist: Fashion-MNIST distilled with KIP (Nguyen et al. 2021); see README.md."""
import tensorflow_datasets as tfds

from tfkip.publish.builder import KipBuilder, configs, every_variant, published_configs


class Builder(KipBuilder):
    """DatasetBuilder for kip_fashion_mnist; its two kinds of config: `tfkip.publish.builder`."""
    VERSION = tfds.core.Version('1.0.0')
    RELEASE_NOTES = {'1.0.0': 'Initial release.'}
    CLASS_NAMES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                   'Sneaker', 'Bag', 'Ankle boot')
    IMAGE_SHAPE = (28, 28, 1)
    DEFAULT_BUILDER_CONFIG_NAME = 'convnet_ipc10'
    SOURCE = 'fashion_mnist'
    BUILDER_CONFIGS = (configs(images_per_class=(1, 10, 50), variants=every_variant(zca=False))
                       + published_configs(SOURCE, CLASS_NAMES, IMAGE_SHAPE))
