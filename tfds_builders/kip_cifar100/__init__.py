"""`kip_cifar100`: CIFAR-100 distilled with KIP."""
