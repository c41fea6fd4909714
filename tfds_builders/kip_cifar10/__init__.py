"""`kip_cifar10`: CIFAR-10 distilled with KIP."""
