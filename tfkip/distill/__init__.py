"""Distillation: kernel ridge regression, the registered methods (`methods/`: KIP, RFAD, DD,
Label Solve, coresets) and the training loop.

Names are imported on first use, so that `tfkip.distill.config.DistillConfig` and the method
registry (read by the command line) do not pull in JAX.
"""
from tfkip import _lazy

_MODULES = {'Pair': 'optimizer', 'State': 'optimizer', 'kip': 'methods.kip.step',
            'kip_loss': 'methods.kip.step', 'centered_one_hot': 'krr', 'evaluate': 'krr',
            'krr_predict': 'krr', 'krr_weights': 'krr', 'label_solve': 'methods.ls.solve',
            'DistillConfig': 'config',
            'distill': 'train', 'evaluate_start': 'train', 'initial_params': 'train'}
__all__ = sorted(_MODULES)

__getattr__ = _lazy.attributes(__name__, _MODULES)
