"""The finite networks of the transfer protocols, as Keras models.

`conv_net` mirrors `tfkip.kernels.architectures.ConvNet`: [optional 3x3 conv + ReLU], then
`depth` blocks of 3x3 SAME conv (width channels) + [normalization] + ReLU + 2x2 pooling,
flatten, dense readout. `mlp` mirrors the FC kernel: `depth` dense + ReLU layers, then the
readout. With init='kernel' weights start as the infinite-width model's, N(0, W_std^2 /
fan_in), biases N(0, b_std^2) (the NTK parameterization's standard-parameterization
equivalent at init); with 'torch', PyTorch's defaults, as the field's evaluation code
(DC/DSA/DM/MTT) builds its networks: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
`kaiming_uniform_` with a = sqrt(5); with 'keras', Keras's defaults. `weight_decay` adds
the L2 penalty weight_decay/2 * ||w||^2 on every weight (kernels, biases, normalization
scales), so its gradient is weight_decay * w, as PyTorch's SGD weight decay.
"""
import math

import keras

from tfkip.errors import TfkipError

NORMALIZATIONS = ('none', 'instance', 'batch')
POOLINGS = ('avg', 'max')


def _normalization(kind, regularizer):
    if kind == 'batch':
        return keras.layers.BatchNormalization(gamma_regularizer=regularizer,
                                               beta_regularizer=regularizer)
    # Instance norm: each channel of each image over its spatial positions.
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5,
                                           gamma_regularizer=regularizer,
                                           beta_regularizer=regularizer)


class _Layers:
    """Initialisers and the regularizer shared by a model's layers."""

    def __init__(self, init, W_std, b_std, weight_decay, seed):
        self.init, self.W_std, self.b_std, self.seed = init, W_std, b_std, seed
        self.regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None

    def kwargs(self, fan_in, index):
        out = dict(kernel_regularizer=self.regularizer, bias_regularizer=self.regularizer)
        if self.init == 'kernel':
            out['kernel_initializer'] = keras.initializers.RandomNormal(
                stddev=self.W_std / math.sqrt(fan_in), seed=self.seed * 1000 + index)
            out['bias_initializer'] = keras.initializers.RandomNormal(
                stddev=self.b_std, seed=self.seed * 1000 + 999 - index)
        elif self.init == 'torch':
            bound = 1 / math.sqrt(fan_in)
            out['kernel_initializer'] = keras.initializers.RandomUniform(
                -bound, bound, seed=self.seed * 1000 + index)
            out['bias_initializer'] = keras.initializers.RandomUniform(
                -bound, bound, seed=self.seed * 1000 + 999 - index)
        else:
            out['kernel_initializer'] = keras.initializers.GlorotUniform(
                seed=self.seed * 1000 + index)
        return out


def conv_net(image_shape, num_classes, *, width=128, depth=3, normalization='none',
             pooling='avg', prepend_conv=False, init='kernel', W_std=math.sqrt(2), b_std=0.1,
             weight_decay=0.0, seed=0):
    """Keras ConvNet: [B, H, W, C] float32 -> [B, num_classes] (linear outputs)."""
    if normalization not in NORMALIZATIONS:
        raise TfkipError(f'normalization must be one of {NORMALIZATIONS}, got {normalization!r}')
    if pooling not in POOLINGS:
        raise TfkipError(f'pooling must be one of {POOLINGS}, got {pooling!r}')
    if image_shape[0] < 2 ** depth or image_shape[1] < 2 ** depth:
        raise TfkipError(f'images of {tuple(image_shape[:2])} pixels are too small for '
                         f'{depth} 2x2 pooling blocks')
    layers = _Layers(init, W_std, b_std, weight_decay, seed)
    pool = keras.layers.AveragePooling2D if pooling == 'avg' else keras.layers.MaxPooling2D
    inputs = keras.Input(image_shape)
    x, channels = inputs, image_shape[-1]
    blocks = [False] * prepend_conv + [True] * depth
    for i, pooled in enumerate(blocks):
        x = keras.layers.Conv2D(width, 3, padding='same', **layers.kwargs(9 * channels, i))(x)
        channels = width
        if normalization != 'none':
            x = _normalization(normalization, layers.regularizer)(x)
        x = keras.layers.ReLU()(x)
        if pooled:
            x = pool(2)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(num_classes, **layers.kwargs(x.shape[-1], 100))(x)
    return keras.Model(inputs, outputs, name=f'convnet{depth}_w{width}')


def mlp(image_shape, num_classes, *, width=1024, depth=3, init='kernel', W_std=math.sqrt(2),
        b_std=0.1, weight_decay=0.0, seed=0):
    """Keras MLP (the FC kernel's network): [B, H, W, C] -> [B, num_classes]."""
    layers = _Layers(init, W_std, b_std, weight_decay, seed)
    inputs = keras.Input(image_shape)
    x = keras.layers.Flatten()(inputs)
    for i in range(depth):
        x = keras.layers.Dense(width, activation='relu', **layers.kwargs(x.shape[-1], i))(x)
    outputs = keras.layers.Dense(num_classes, **layers.kwargs(x.shape[-1], 100))(x)
    return keras.Model(inputs, outputs, name=f'mlp{depth}_w{width}')
