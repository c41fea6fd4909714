"""`kip_svhn`: SVHN (cropped digits) distilled with KIP."""
# Importing the package registers the builder with TFDS (`tfds.load('kip_svhn/...')`).
from tfds_builders.kip_svhn.kip_svhn_dataset_builder import Builder

__all__ = ['Builder']
