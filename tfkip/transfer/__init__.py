"""Keras finite-width transfer: the whitening layer, the networks, DSA, the protocols.

Names are imported on first use, so that `tfkip.transfer.train.TransferConfig` (the CLI's
option defaults) does not pull in Keras and TensorFlow.
"""
import importlib

_MODULES = {'ZCAWhitening': 'layers', 'conv_net': 'models', 'mlp': 'models',
            'DSAugment': 'augment', 'TransferConfig': 'train', 'PROTOCOLS': 'train',
            'protocol': 'train', 'train_and_evaluate': 'train'}
__all__ = sorted(_MODULES)


def __getattr__(name):
    if name not in _MODULES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_MODULES[name]}'), name)
