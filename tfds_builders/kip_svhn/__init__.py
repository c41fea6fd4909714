"""`kip_svhn`: SVHN (cropped digits) distilled with KIP."""
