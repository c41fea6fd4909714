"""DSA as a Keras layer: the augmentation of the `standard` evaluation protocol.

`DSAugment(ops)` is active in training only. Every batch draws one of `ops` (DSA's single
mode), each image its own parameters, with the ranges of `tfkip.augment` (the same ones the
distillation losses use). Flip, crop, scale and rotate are Keras's preprocessing layers
(crop as a zero-filled translation, scale as a zoom of each axis by 1/SCALE..SCALE); color
and cutout, which Keras has only with clipping to a pixel range (whitened images have none),
are written here with `keras.ops`.
"""
import keras
from keras import ops

from tfkip import augment as dsa


class _Random(keras.layers.Layer):
    """A layer drawing from its own seeded generator."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def get_config(self):
        return {**super().get_config(), 'seed': self.seed}


@keras.saving.register_keras_serializable(package='tfkip')
class DSAColor(_Random):
    """DSA's brightness, saturation and contrast, unclipped."""

    def call(self, x, training=True):
        if not training:
            return x
        shape = (ops.shape(x)[0], 1, 1, 1)
        u = [keras.random.uniform(shape, seed=self.generator) for _ in range(3)]
        x = x + (u[0] - 0.5) * dsa.BRIGHTNESS
        mean = ops.mean(x, axis=3, keepdims=True)
        x = (x - mean) * (u[1] * dsa.SATURATION) + mean
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        return (x - mean) * (u[2] + dsa.CONTRAST) + mean


@keras.saving.register_keras_serializable(package='tfkip')
class DSACutout(_Random):
    """Zeros a square of CUTOUT * size pixels per side, centred anywhere in each image."""

    def call(self, x, training=True):
        if not training:
            return x
        h, w = x.shape[1], x.shape[2]
        n = ops.shape(x)[0]
        masks = []
        for size, side in ((int(h * dsa.CUTOUT + 0.5), h), (int(w * dsa.CUTOUT + 0.5), w)):
            centre = keras.random.randint((n, 1), 0, side + (1 - size % 2), seed=self.generator)
            start = centre - size // 2
            index = ops.arange(side)[None, :]
            masks.append(ops.logical_and(index >= start, index < start + size))
        inside = ops.logical_and(masks[0][:, :, None], masks[1][:, None, :])
        return x * ops.cast(ops.logical_not(inside), x.dtype)[..., None]


@keras.saving.register_keras_serializable(package='tfkip')
class DSAugment(_Random):
    """One DSA transformation per training batch, drawn from `ops`; the identity otherwise.

    Args:
      ops: DSA groups (`tfkip.augment.OPS`): color, crop, cutout, flip, scale, rotate.
      seed: seeds every random draw.
    """

    def __init__(self, ops=dsa.OPS, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.ops = dsa.check_ops(ops)
        zero = dict(fill_mode='constant', fill_value=0.0, seed=seed)
        make = {
            'color': lambda: DSAColor(seed=seed),
            'crop': lambda: keras.layers.RandomTranslation(dsa.CROP, dsa.CROP,
                                                           interpolation='nearest', **zero),
            'cutout': lambda: DSACutout(seed=seed),
            'flip': lambda: keras.layers.RandomFlip('horizontal', seed=seed),
            'scale': lambda: keras.layers.RandomZoom((1 / dsa.SCALE - 1, dsa.SCALE - 1),
                                                     (1 / dsa.SCALE - 1, dsa.SCALE - 1), **zero),
            'rotate': lambda: keras.layers.RandomRotation(dsa.ROTATE / 360, **zero),
        }
        self.branches = [make[op]() for op in self.ops]

    def build(self, input_shape):
        for branch in self.branches:
            branch.build(input_shape)

    def call(self, x, training=False):
        if not training or not self.branches:
            return x
        choice = keras.random.randint((), 0, len(self.branches), seed=self.generator)
        return ops.switch(choice, [lambda x, branch=branch: branch(x, training=True)
                                   for branch in self.branches], x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), 'ops': list(self.ops)}
