"""The finite-width ConvNet of the KIP paper, as a Keras model.

Mirrors `tfkip.kernels.architectures.ConvNet`: [optional 3x3 conv + ReLU], then `depth`
blocks of 3x3 SAME conv (width channels) + [normalization] + ReLU + 2x2 pooling, flatten,
dense readout. Weights start as the infinite-width model's: N(0, W_std^2 / fan_in), biases
N(0, b_std^2) (the NTK parameterization's standard-parameterization equivalent at init).
"""
import math

import keras

from tfkip.errors import TfkipError

NORMALIZATIONS = ('none', 'instance', 'batch')
POOLINGS = ('avg', 'max')


def _normalization(kind):
    if kind == 'batch':
        return keras.layers.BatchNormalization()
    # Instance norm: each channel of each image over its spatial positions.
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5)


def conv_net(image_shape, num_classes, *, width=128, depth=3, normalization='none',
             pooling='avg', prepend_conv=False, W_std=math.sqrt(2), b_std=0.1, seed=0):
    """Keras ConvNet: [B, H, W, C] float32 -> [B, num_classes] (linear outputs)."""
    if normalization not in NORMALIZATIONS:
        raise TfkipError(f'normalization must be one of {NORMALIZATIONS}, got {normalization!r}')
    if pooling not in POOLINGS:
        raise TfkipError(f'pooling must be one of {POOLINGS}, got {pooling!r}')
    if image_shape[0] < 2 ** depth or image_shape[1] < 2 ** depth:
        raise TfkipError(f'images of {tuple(image_shape[:2])} pixels are too small for '
                         f'{depth} 2x2 pooling blocks')

    def init(fan_in, layer_seed):
        return keras.initializers.RandomNormal(stddev=W_std / math.sqrt(fan_in),
                                               seed=seed * 1000 + layer_seed)

    bias = keras.initializers.RandomNormal(stddev=b_std, seed=seed * 1000 + 999)
    pool = keras.layers.AveragePooling2D if pooling == 'avg' else keras.layers.MaxPooling2D
    inputs = keras.Input(image_shape)
    x, channels = inputs, image_shape[-1]
    blocks = [False] * prepend_conv + [True] * depth
    for i, pooled in enumerate(blocks):
        x = keras.layers.Conv2D(width, 3, padding='same', kernel_initializer=init(9 * channels, i),
                                bias_initializer=bias)(x)
        channels = width
        if normalization != 'none':
            x = _normalization(normalization)(x)
        x = keras.layers.ReLU()(x)
        if pooled:
            x = pool(2)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=init(x.shape[-1], 100),
                                 bias_initializer=bias)(x)
    return keras.Model(inputs, outputs, name=f'convnet{depth}_w{width}')
