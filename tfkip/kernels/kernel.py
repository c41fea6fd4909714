"""Kernel configuration and blocked, differentiable kernel matrices.

A `KernelConfig` names one infinite-width architecture of `architectures.py` and
which of its kernels to use. `make_kernel_fn` turns it into a pure function

    kernel_fn(x1: [N1, H, W, C] float, x2: [N2, H, W, C] float, hparams) -> [N1, N2]

where `hparams = {'W_std': scalar, 'b_std': scalar}` are arguments (not constants) so
that KIP can learn them. Two implementations compute it: neural-tangents' `stax`
(every architecture; the reference) and, for the ConvNet, `convnet_fast` (the same
numbers from a much smaller state) and, for FC, `fc_fast` (the closed-form recursion
on the Gram matrix); `implementation='auto'` picks the fast ones. The matrix is
computed in blocks of image pairs with `lax.map`, each block under `jax.checkpoint`
(recomputed in the backward pass rather than stored), so memory stays bounded by one
block, forward and backward, whatever N1 and N2 are. A matrix that fits in one block
is computed directly, without the recomputation.
"""
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from tfkip.errors import TfkipError
from tfkip.kernels import convnet_fast, fc_fast
from tfkip.kernels.architectures import (ARCHITECTURES, DEFAULT_B_STD, DEFAULT_W_STD,
                                         READOUTS)

KERNELS = ('ntk', 'nngp')
IMPLEMENTATIONS = ('auto', 'fast', 'neural_tangents')
# Square root of the image pairs per block for neural-tangents: FC blocks are one
# matmul; ConvNet blocks carry an [H*W, H*W] covariance per pair (1M floats for
# 32x32), hence far smaller ones. The fast ConvNet sizes its blocks from memory.
DEFAULT_BLOCK_SIZE = {'fc': 1024, 'convnet': 4}


@dataclasses.dataclass(frozen=True)
class KernelConfig:
    """Which infinite-width kernel to use.

    Attributes:
      architecture: 'fc' or 'convnet' (see `architectures.py`).
      depth: hidden layers (FC) or conv blocks (ConvNet).
      kernel: 'ntk' or 'nngp'.
      W_std, b_std: initial weight and bias standard deviations.
      prepend_conv: ConvNet only; one extra Conv + ReLU before the blocks.
      readout: ConvNet only; 'flatten' (the paper's) or 'gap' (global average pool).
      implementation: 'fast' (`fc_fast` or `convnet_fast`: the same kernels, faster),
        'neural_tangents' (the reference), or 'auto' (the same as 'fast').
      block_size: a block holds at most block_size**2 image pairs (and at most
        block_size columns); None picks the architecture's default, or for the
        fast ConvNet a size that fits the memory budget (`convnet_fast.pairs_per_block`).
    """
    architecture: str = 'fc'
    depth: int = 1
    kernel: str = 'ntk'
    W_std: float = DEFAULT_W_STD
    b_std: float = DEFAULT_B_STD
    prepend_conv: bool = False
    readout: str = 'flatten'
    implementation: str = 'auto'
    block_size: int | None = None

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise TfkipError(f'unknown architecture {self.architecture!r}; '
                             f'choose one of {sorted(ARCHITECTURES)}')
        if self.kernel not in KERNELS:
            raise TfkipError(f'unknown kernel {self.kernel!r}; choose one of {KERNELS}')
        if not isinstance(self.depth, int) or self.depth < 1:
            raise TfkipError(f'depth must be an integer >= 1, got {self.depth!r}')
        if not (math.isfinite(self.W_std) and self.W_std > 0):
            raise TfkipError(f'W_std must be a positive number, got {self.W_std!r}')
        if not (math.isfinite(self.b_std) and self.b_std >= 0):
            raise TfkipError(f'b_std must be a number >= 0, got {self.b_std!r}')
        if self.prepend_conv and self.architecture != 'convnet':
            raise TfkipError('prepend_conv applies to the convnet architecture only')
        if self.readout not in READOUTS:
            raise TfkipError(f'unknown readout {self.readout!r}; choose one of {tuple(READOUTS)}')
        if self.readout != 'flatten' and self.architecture != 'convnet':
            raise TfkipError('readout applies to the convnet architecture only')
        if self.implementation not in IMPLEMENTATIONS:
            raise TfkipError(f'unknown implementation {self.implementation!r}; '
                             f'choose one of {IMPLEMENTATIONS}')
        if self.block_size is not None and self.block_size < 1:
            raise TfkipError(f'block_size must be >= 1, got {self.block_size!r}')

    def stax(self, **options):
        """The architecture's stax triple `(init_fn, apply_fn, kernel_fn)` with this config's
        depth and ConvNet options; `options` (num_classes, width, W_std, b_std) pass on."""
        extra = ({'prepend_conv': self.prepend_conv, 'readout': self.readout}
                 if self.architecture == 'convnet' else {})
        return ARCHITECTURES[self.architecture](self.depth, **extra, **options)

    @property
    def fast(self):
        """Whether `make_kernel_fn` uses tfkip's own kernels rather than neural-tangents."""
        return self.implementation != 'neural_tangents'

    def initial_hparams(self):
        """`{'W_std': [] float32, 'b_std': [] float32}`, the starting hyperparameters."""
        return {'W_std': jnp.float32(self.W_std), 'b_std': jnp.float32(self.b_std)}

    def check_input_shape(self, image_shape):
        """Raises TfkipError if images of `image_shape` (H, W, C) cannot go through."""
        if len(image_shape) != 3:
            raise TfkipError(f'images must be [N, H, W, C]; got per-image shape {image_shape}')
        if self.architecture == 'convnet' and min(image_shape[:2]) < 2 ** self.depth:
            raise TfkipError(
                f'a depth-{self.depth} ConvNet halves height and width {self.depth} times, '
                f'so they must be at least {2 ** self.depth}; got {image_shape[:2]}. '
                'Lower --depth.')


def make_kernel_fn(config, num_classes=10):
    """Returns `kernel_fn(x1, x2, hparams) -> [N1, N2]` for `config`, blocked.

    Args:
      config: a KernelConfig.
      num_classes: readout width (the kernel does not depend on it).

    Returns:
      A pure, jit-able and differentiable function; see the module docstring.
    """
    if config.fast and config.architecture == 'convnet':
        return _fast_convnet_fn(config)
    max_pairs = (config.block_size or DEFAULT_BLOCK_SIZE[config.architecture]) ** 2
    def block(x1, x2, hparams):
        if config.fast:
            return fc_fast.fc_kernel(x1, x2, config.depth, hparams['W_std'],
                                     hparams['b_std'], config.kernel)
        _, _, kernel_fn = config.stax(num_classes=num_classes, W_std=hparams['W_std'],
                                      b_std=hparams['b_std'])
        return kernel_fn(x1, x2, config.kernel)

    return lambda x1, x2, hparams: blocked(block, x1, x2, hparams, max_pairs)


def _fast_convnet_fn(config):
    """`make_kernel_fn` through `convnet_fast`: x1's variance maps first (in chunks),
    then for each block of x2 its shifted maps, then the pairs in blocks."""
    def kernel_fn(x1, x2, hparams):
        plan = convnet_fast.Plan.make(x1.shape[1:3], config.depth,
                                      prepend_conv=config.prepend_conv,
                                      readout=config.readout)
        max_pairs = (config.block_size ** 2 if config.block_size
                     else convnet_fast.pairs_per_block(plan, x1.dtype.itemsize))
        w_std, b_std = hparams['W_std'], hparams['b_std']
        chunks = _to_blocks(x1, min(x1.shape[0], max_pairs))
        per_chunk = jax.lax.map(
            lambda c: convnet_fast.image_variances(c, plan, w_std, b_std), chunks)
        v1 = tuple(v.reshape((-1,) + v.shape[2:])[:x1.shape[0]] for v in per_chunk)
        shift = lambda b, h: convnet_fast.shifted_images(b, plan, h['W_std'], h['b_std'])
        block = lambda a, b, h: convnet_fast.pair_kernel(
            a[0], a[1], b[0], b[1], plan, h['W_std'], h['b_std'], config.kernel)
        return blocked(block, (x1, v1), x2, hparams, max_pairs, prepare2=shift)

    return kernel_fn


def _to_blocks(x, size):
    """[N, ...] -> [ceil(N / size), size, ...] for every array in the pytree x, padded
    by repeating the last row.

    Repeating a real row (not zeros) keeps padded kernel entries finite (a zero
    image has zero variance when b_std = 0, and the arc-cosine kernel divides by it).
    """
    def split(a):
        num_blocks = -(-a.shape[0] // size)
        pad = num_blocks * size - a.shape[0]
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1), mode='edge')
        return a.reshape((num_blocks, size) + a.shape[1:])
    return jax.tree.map(split, x)


def blocked(block_fn, x1, x2, hparams, max_pairs, prepare2=None):
    """Assembles `block_fn(x1, prepare2(x2, hparams), hparams) -> [N1, N2]` from blocks
    of at most `max_pairs` image pairs (at most sqrt(max_pairs) columns, as many rows as
    fit), mapped one at a time with `lax.map`: for each block of x2, `prepare2` once,
    then every block of x1. x1 and x2 may be pytrees of arrays that share their
    leading (image) axis."""
    prepare2 = prepare2 or (lambda b, h: b)
    n1, n2 = jax.tree.leaves(x1)[0].shape[0], jax.tree.leaves(x2)[0].shape[0]
    if n1 * n2 <= max_pairs:
        return block_fn(x1, prepare2(x2, hparams), hparams)
    s2 = _balanced(n2, math.isqrt(max_pairs))
    s1 = _balanced(n1, max_pairs // s2)
    b1, b2 = _to_blocks(x1, s1), _to_blocks(x2, s2)
    block_fn = jax.checkpoint(block_fn)

    def column(b):
        # Computed outside the loop over x1 blocks, so XLA materializes it once
        # rather than fusing it into (and recomputing it in) every block.
        b = prepare2(b, hparams)
        return jax.lax.map(lambda a: block_fn(a, b, hparams), b1)

    k = jax.lax.map(column, b2)  # [blocks2, blocks1, s1, s2]
    k = k.transpose(1, 2, 0, 3).reshape(k.shape[1] * s1, k.shape[0] * s2)
    return k[:n1, :n2]


def _balanced(n, size):
    """The block size <= `size` that splits n rows into as few blocks as `size` does, of
    equal size: the least padding (1,000 rows at most 300 a block: 4 blocks of 250, not
    4 of 300 with 200 rows of padding)."""
    num_blocks = -(-n // min(n, size))
    return -(-n // num_blocks)


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
