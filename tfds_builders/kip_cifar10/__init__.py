"""`kip_cifar10`: CIFAR-10 distilled with KIP."""
# Importing the package registers the builder with TFDS (`tfds.load('kip_cifar10/...')`).
from tfds_builders.kip_cifar10.kip_cifar10_dataset_builder import Builder

__all__ = ['Builder']
