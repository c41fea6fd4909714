"""Infinite-width kernels: stax architectures and blocked, differentiable kernel functions."""
from tfkip.kernels.architectures import FC, ConvNet
from tfkip.kernels.kernel import KernelConfig, kernel_matrix_in_chunks, make_kernel_fn

__all__ = ['FC', 'ConvNet', 'KernelConfig', 'kernel_matrix_in_chunks', 'make_kernel_fn']
