"""kip_digits builder test on dummy_data (a 10-image set in the manual dir)."""
import tensorflow_datasets as tfds

from tfds_builders.kip_digits import kip_digits_dataset_builder


class KipDigitsTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = kip_digits_dataset_builder.Builder
    BUILDER_CONFIG_NAMES_TO_TEST = ['fc_ipc1']
    SPLITS = {'train': 10}
    SKIP_CHECKSUMS = True  # nothing is downloaded: the sets come from the manual dir
    SKIP_TF1_GRAPH_MODE = True  # sets for TF2 and JAX: loaded eagerly


if __name__ == '__main__':
    tfds.testing.test_main()
