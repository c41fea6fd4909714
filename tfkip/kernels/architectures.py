"""Infinite-width architectures of the KIP papers, as neural-tangents `stax` values.

Each constructor returns the `(init_fn, apply_fn, kernel_fn)` triple of `stax.serial`,
so the same value gives a finite network (init/apply) and its infinite-width NNGP and
NTK (`kernel_fn(x1, x2, ('nngp', 'ntk'))`). Inputs are `[N, H, W, C]` images; FC
flattens them first.

`ARCHITECTURES` is the kernel table: each architecture's stax constructor, the KernelConfig
options it takes beyond its depth, and optionally a module with a fast exact implementation
of the same kernel (`make_kernel_fn(config)`); `implementation='auto'` uses the fast one
where it is registered, neural-tangents elsewhere. A new architecture is one constructor and
one entry here. neural-tangents is imported on first use, so that the table (read by the
configuration and the command line) is light.

References: Nguyen, Chen, Lee, "Dataset Meta-Learning from Kernel Ridge-Regression"
(ICLR 2021) for FC; Nguyen, Novak, Xiao, Lee, "Dataset Distillation with Infinitely
Wide Convolutional Networks" (NeurIPS 2021), sec. 3, for the ConvNet.
"""
import dataclasses
import math
from typing import Callable

DEFAULT_W_STD = math.sqrt(2.0)
DEFAULT_B_STD = 0.1
# The kernel does not depend on it; it only sizes the finite networks from init_fn.
DEFAULT_WIDTH = 1024
READOUTS = ('flatten', 'gap')  # ConvNet: stax.Flatten, stax.GlobalAvgPool


def FC(depth=1, *, num_classes=10, W_std=DEFAULT_W_STD, b_std=DEFAULT_B_STD,
       width=DEFAULT_WIDTH, parameterization='ntk'):
    """Fully connected ReLU network: Flatten, `depth` x (Dense, ReLU), Dense readout.

    Args:
      depth: number of hidden Dense + ReLU layers (>= 1).
      num_classes: width of the readout layer; None: no readout, so the value is the
        last hidden layer (its features and their kernel).
      W_std, b_std: standard deviations of weights and biases (floats, or JAX
        scalars when the kernel's hyperparameters are learned).
      width: hidden width of the finite networks made by `init_fn`.
      parameterization: 'ntk' or 'standard', as in neural-tangents.

    Returns:
      `(init_fn, apply_fn, kernel_fn)`.
    """
    from tfkip._nt_compat import stax
    dense = lambda n: stax.Dense(n, W_std=W_std, b_std=b_std,
                                 parameterization=parameterization)
    hidden = [layer for _ in range(depth) for layer in (dense(width), stax.Relu())]
    return stax.serial(stax.Flatten(), *hidden, *_readout(dense, num_classes))


def ConvNet(depth=3, *, num_classes=10, W_std=DEFAULT_W_STD, b_std=DEFAULT_B_STD,
            width=DEFAULT_WIDTH, prepend_conv=False, readout='flatten',
            parameterization='ntk'):
    """The KIP paper's ConvNet: `depth` x (3x3 SAME Conv, ReLU, 2x2 AvgPool), Flatten, Dense.

    Args:
      depth: number of conv blocks (>= 1); each halves the spatial size (VALID
        pooling: an odd row or column at the edge is dropped).
      num_classes: width of the readout layer; None: no readout (the value ends with
        the Flatten or pooling layer: the features, and their kernel).
      W_std, b_std: standard deviations of weights and biases.
      width: channels of the finite networks made by `init_fn`.
      prepend_conv: put one extra 3x3 Conv + ReLU before the first block, as in
        the paper's "ConvNet with a prepended conv layer".
      readout: 'flatten' (the paper's) or 'gap' (global average pooling) before
        the Dense layer.
      parameterization: 'ntk' or 'standard'.

    Returns:
      `(init_fn, apply_fn, kernel_fn)`.
    """
    from tfkip._nt_compat import stax
    conv = lambda: stax.Conv(width, (3, 3), padding='SAME', W_std=W_std, b_std=b_std,
                             parameterization=parameterization)
    layers = [conv(), stax.Relu()] if prepend_conv else []
    for _ in range(depth):
        layers += [conv(), stax.Relu(), stax.AvgPool((2, 2), strides=(2, 2))]
    dense = lambda n: stax.Dense(n, W_std=W_std, b_std=b_std, parameterization=parameterization)
    pool = {'flatten': stax.Flatten, 'gap': stax.GlobalAvgPool}[readout]
    return stax.serial(*layers, pool(), *_readout(dense, num_classes))


def _readout(dense, num_classes):
    """The readout layer, or none for num_classes None."""
    return [] if num_classes is None else [dense(num_classes)]


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One row of the kernel table.

    Attributes:
      stax: `(depth, *, num_classes, W_std, b_std, width, parameterization, **options)` ->
        the `(init_fn, apply_fn, kernel_fn)` triple.
      options: the KernelConfig fields it takes as `**options` (others must keep their
        defaults).
      fast: the module of a fast exact kernel (`make_kernel_fn(config)`), or None.
      block_size: neural-tangents blocks hold at most block_size**2 image pairs.
    """
    stax: Callable
    options: tuple = ()
    fast: str | None = None
    block_size: int = 1024


# ConvNet blocks in neural-tangents carry an [H*W, H*W] covariance per pair (1M floats for
# 32x32), hence far smaller ones than FC's single matmul.
ARCHITECTURES = {
    'fc': Architecture(FC, fast='tfkip.kernels.fc_fast', block_size=1024),
    'convnet': Architecture(ConvNet, options=('prepend_conv', 'readout'),
                            fast='tfkip.kernels.convnet_fast', block_size=4),
}
