"""Keras finite-width transfer: the whitening layer, the networks, DSA, the protocols.

Names are imported on first use, so that `tfkip.transfer.train.TransferConfig` (the CLI's
option defaults) does not pull in Keras and TensorFlow.
"""
from tfkip import _lazy

_MODULES = {'ZCAWhitening': 'layers', 'conv_net': 'models', 'mlp': 'models',
            'DSAugment': 'augment', 'TransferConfig': 'train', 'PROTOCOLS': 'train',
            'protocol': 'train', 'train_and_evaluate': 'train'}
__all__ = sorted(_MODULES)

__getattr__ = _lazy.attributes(__name__, _MODULES)
