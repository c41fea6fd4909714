"""`kip_digits`: scikit-learn's 8x8 handwritten digits distilled with KIP."""
# Importing the package registers the builder with TFDS (`tfds.load('kip_digits/...')`).
from tfds_builders.kip_digits.kip_digits_dataset_builder import Builder

__all__ = ['Builder']
