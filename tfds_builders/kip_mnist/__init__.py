"""`kip_mnist`: MNIST distilled with KIP."""
