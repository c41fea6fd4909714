"""Publish distilled sets as TFDS datasets: the shared builder base and the `publish` step."""
from tfkip.publish.publish import (DATASETS, augmentation, builder_class, config_for,
                                   config_of, dataset_for_source, publish)

__all__ = ['DATASETS', 'augmentation', 'builder_class', 'config_for', 'config_of',
           'dataset_for_source', 'publish']
