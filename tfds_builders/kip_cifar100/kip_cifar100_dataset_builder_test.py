"""kip_cifar100 builder test on dummy_data (a 100-image set in the manual dir)."""
import tensorflow_datasets as tfds

from tfds_builders.kip_cifar100 import kip_cifar100_dataset_builder


class KipCifar100Test(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = kip_cifar100_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ['convnet_zca_ipc1']
    SPLITS = {'train': 100}
    SKIP_CHECKSUMS = True  # nothing is downloaded: the sets come from the manual dir


if __name__ == '__main__':
    tfds.testing.test_main()
