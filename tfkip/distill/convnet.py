"""The `standard` transfer protocol's ConvNet (`tfkip.transfer.models.conv_net`) as pure JAX
functions of a parameter dict, for the methods that train or embed with finite networks
(FRePo, DM).

`depth` blocks of 3x3 SAME conv (`width` channels) + instance normalization (each channel
of each image over its positions, learned scale and offset, Keras's GroupNormalization with
one group per channel) + ReLU + 2x2 average pooling, then flatten and a dense readout.
Weights start as N(0, W_std^2 / fan_in), biases as N(0, b_std^2): the Keras model's `kernel`
initialisation; or (`init='torch'`) as PyTorch's, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) both, the
Keras model's `torch` one and the DM and IDM authors' networks'.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp

_EPSILON = 1e-5  # Keras GroupNormalization's


INITS = ('kernel', 'torch')


class Network(NamedTuple):
    """One ConvNet of this family: `init`'s options (`scheme` is its initialisation, a
    field that cannot share the method's name) and the normalization ('instance' or
    'none')."""
    width: int = 128
    depth: int = 3
    normalization: str = 'instance'
    W_std: float = 2 ** 0.5
    b_std: float = 0.1
    scheme: str = 'kernel'

    def init(self, key, image_shape, num_classes):
        return init(key, image_shape, num_classes, width=self.width, depth=self.depth,
                    W_std=self.W_std, b_std=self.b_std, scheme=self.scheme)


def _draw(key, shape, fan_in, std, scheme):
    """[shape] float32: N(0, std^2) ('kernel'), or U(+-1/sqrt(fan_in)) ('torch')."""
    if scheme == 'torch':
        return jax.random.uniform(key, shape, minval=-1., maxval=1.) / fan_in ** 0.5
    return std * jax.random.normal(key, shape)


def init(key, image_shape, num_classes, *, width=128, depth=3, W_std=2 ** 0.5, b_std=0.1,
         scheme='kernel'):
    """A network's parameters.

    Args:
      key: PRNG key.
      image_shape: (H, W, C) of its inputs.
      num_classes: outputs of the readout.
      width, depth: channels and conv blocks.
      W_std, b_std: the 'kernel' initialisation's scales.
      scheme: one of `INITS`: 'kernel' (N(0, W_std^2 / fan_in) weights, N(0, b_std^2)
        biases) or 'torch' (PyTorch's: weights and biases U(+-1/sqrt(fan_in))).

    Returns:
      {'blocks': [{'w': [3, 3, C_in, width], 'b': [width], 'scale': [width],
      'offset': [width]}] * depth, 'readout': {'w': [F, num_classes], 'b': [num_classes]}},
      float32, with F = width * (H // 2^depth) * (W // 2^depth).
    """
    if scheme not in INITS:
        raise ValueError(f'scheme must be one of {INITS}, got {scheme!r}')
    keys = jax.random.split(key, 2 * depth + 2)
    blocks, channels = [], image_shape[-1]
    for i in range(depth):
        fan_in = 9 * channels
        blocks.append({
            'w': _draw(keys[2 * i], (3, 3, channels, width), fan_in, W_std / fan_in ** 0.5,
                       scheme),
            'b': _draw(keys[2 * i + 1], (width,), fan_in, b_std, scheme),
            'scale': jnp.ones([width]), 'offset': jnp.zeros([width])})
        channels = width
    features = width * (image_shape[0] >> depth) * (image_shape[1] >> depth)
    readout = {'w': _draw(keys[-2], (features, num_classes), features, W_std / features ** 0.5,
                          scheme),
               'b': _draw(keys[-1], (num_classes,), features, b_std, scheme)}
    return {'blocks': blocks, 'readout': readout}


def features(theta, images, normalization='instance'):
    """The flattened output of the last block: [N, H, W, C] float32 -> [N, F]."""
    x = images
    for block in theta['blocks']:
        x = jax.lax.conv_general_dilated(x, block['w'], (1, 1), 'SAME',
                                         dimension_numbers=('NHWC', 'HWIO', 'NHWC')) + block['b']
        if normalization == 'instance':
            mean = jnp.mean(x, axis=(1, 2), keepdims=True)
            var = jnp.var(x, axis=(1, 2), keepdims=True)
            x = (x - mean) * jax.lax.rsqrt(var + _EPSILON) * block['scale'] + block['offset']
        x = jax.nn.relu(x)
        x = jax.lax.reduce_window(x, 0., jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), 'VALID') / 4
    return x.reshape(x.shape[0], -1)


def apply(theta, images, normalization='instance'):
    """The network's outputs: [N, H, W, C] float32 -> [N, num_classes]."""
    return features(theta, images, normalization) @ theta['readout']['w'] + theta['readout']['b']
