"""`kip_fashion_mnist`: Fashion-MNIST distilled with KIP."""
# Importing the package registers the builder with TFDS (`tfds.load('kip_fashion_mnist/...')`).
from tfds_builders.kip_fashion_mnist.kip_fashion_mnist_dataset_builder import Builder

__all__ = ['Builder']
