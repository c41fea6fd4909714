"""Differentiable kernel matrices from a `KernelConfig`.

`make_kernel_fn` turns a KernelConfig (`config.py`) into a pure function

    kernel_fn(x1: [N1, H, W, C] float, x2: [N2, H, W, C] float, hparams) -> [N1, N2]

where `hparams = {'W_std': scalar, 'b_std': scalar}` are arguments (not constants) so
that KIP can learn them. The kernel table (`architectures.ARCHITECTURES`) says how: the
architecture's registered fast exact kernel (`fc_fast`: the closed-form recursion on the
Gram matrix; `convnet_fast`: the same numbers as neural-tangents from a much smaller
state) unless `implementation='neural_tangents'`, else neural-tangents' `stax` (every
architecture; the reference). Either way the matrix is computed in blocks of image pairs
(`blocks.blocked`), so memory stays bounded whatever N1 and N2 are.
"""
import importlib

import jax.numpy as jnp
import numpy as np

from tfkip.kernels.architectures import ARCHITECTURES
from tfkip.kernels.blocks import blocked
from tfkip.kernels.config import KernelConfig  # noqa: F401 (importable from here too)


def make_kernel_fn(config, num_classes=10):
    """Returns `kernel_fn(x1, x2, hparams) -> [N1, N2]` for `config`, blocked.

    Args:
      config: a KernelConfig.
      num_classes: readout width (the kernel does not depend on it).

    Returns:
      A pure, jit-able and differentiable function; see the module docstring.
    """
    if config.fast:
        return importlib.import_module(config.fast).make_kernel_fn(config)
    max_pairs = (config.block_size or ARCHITECTURES[config.architecture].block_size) ** 2

    def block(x1, x2, hparams):
        _, _, kernel_fn = config.stax(num_classes=num_classes, W_std=hparams['W_std'],
                                      b_std=hparams['b_std'])
        return kernel_fn(x1, x2, config.kernel)

    return lambda x1, x2, hparams: blocked(block, x1, x2, hparams, max_pairs)


def kernel_matrix_in_chunks(kernel_fn, x1, x2, hparams, chunk_size=8192):
    """`kernel_fn(x1, x2)` as a host numpy array, computed in tiles of at most
    `chunk_size` x `chunk_size` images, so device memory stays bounded for any N1 and
    N2 (a 10,000-image test set against a 60,000-image support set, say).

    Args:
      kernel_fn: a jitted `kernel_fn(x1, x2, hparams)` from `make_kernel_fn`.
      x1: [N1, H, W, C] host array; x2: [N2, H, W, C] host array.
      hparams: the kernel's hyperparameters.
      chunk_size: tile edge, in images.

    Returns:
      [N1, N2] numpy array of the kernel's dtype.
    """
    columns = list(_host_chunks(x2, chunk_size))  # moved to the device once, not per row
    rows = []
    for chunk1, n1 in _host_chunks(x1, chunk_size):
        row = [np.asarray(kernel_fn(chunk1, chunk2, hparams))[:n1, :n2]
               for chunk2, n2 in columns]
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows)


def _host_chunks(x, size):
    """Yields (device chunk, valid rows) over x; when x spans several chunks, the last
    is padded to `size` rows so every call has one compiled shape."""
    for start in range(0, x.shape[0], size):
        chunk = np.asarray(x[start:start + size])
        valid = chunk.shape[0]
        if valid < size < x.shape[0]:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], size - valid, 0)])
        yield jnp.asarray(chunk), valid
