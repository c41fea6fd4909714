"""`kip_fashion_mnist`: Fashion-MNIST distilled with KIP."""
