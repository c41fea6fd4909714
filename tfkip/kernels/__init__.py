"""Infinite-width kernels: the kernel table of stax architectures, their configuration and
blocked, differentiable kernel functions.

Names are imported on first use, so that `tfkip.kernels.config.KernelConfig` (read by the
command line) does not pull in JAX.
"""
from tfkip import _lazy

_MODULES = {'FC': 'architectures', 'ConvNet': 'architectures', 'ARCHITECTURES': 'architectures',
            'KernelConfig': 'config', 'kernel_matrix_in_chunks': 'kernel',
            'make_kernel_fn': 'kernel'}
__all__ = sorted(_MODULES)

__getattr__ = _lazy.attributes(__name__, _MODULES)
