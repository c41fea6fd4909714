"""`kip_mnist`: MNIST distilled with KIP."""
# Importing the package registers the builder with TFDS (`tfds.load('kip_mnist/...')`).
from tfds_builders.kip_mnist.kip_mnist_dataset_builder import Builder

__all__ = ['Builder']
