"""kip_cifar10 builder tests: a tfkip set from dummy_data in the manual dir; the authors' published
sets from stand-ins of their downloads."""
import tensorflow_datasets as tfds

from tfds_builders.kip_cifar10 import kip_cifar10_dataset_builder
from tfkip.publish.testing import published_test_cases


class KipCifar10Test(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = kip_cifar10_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ['convnet_zca_ipc1']
    SPLITS = {'train': 10}
    SKIP_CHECKSUMS = True  # nothing is downloaded: the sets come from the manual dir
    SKIP_TF1_GRAPH_MODE = True  # sets for TF2 and JAX: loaded eagerly


# The published_* configs, from stand-ins of the authors' files (tfkip.publish.testing).
globals().update(published_test_cases(kip_cifar10_dataset_builder.Builder))


if __name__ == '__main__':
    tfds.testing.test_main()
