"""`kip_cifar100`: CIFAR-100 distilled with KIP."""
# Importing the package registers the builder with TFDS (`tfds.load('kip_cifar100/...')`).
from tfds_builders.kip_cifar100.kip_cifar100_dataset_builder import Builder

__all__ = ['Builder']
