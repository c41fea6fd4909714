"""DSA as a Keras layer: the augmentation of the `standard` evaluation protocol.

`DSAugment(ops)` is active in training only. Every batch draws one of `ops` (DSA's single
mode), each image its own parameters, through the formulas of `tfkip.augment.transforms` in
`keras.ops`: the ones the distillation losses apply in JAX, so that a set is evaluated under
the augmentation it was learned to survive.
"""
import keras
from keras import ops

from tfkip import augment as dsa
from tfkip.augment import transforms


@keras.saving.register_keras_serializable(package='tfkip')
class DSAugment(keras.layers.Layer):
    """One DSA transformation per training batch, drawn from `ops`; the identity otherwise.

    Args:
      ops: DSA groups (`tfkip.augment.OPS`): color, crop, cutout, flip, scale, rotate.
      seed: seeds every random draw.
    """

    def __init__(self, ops=dsa.OPS, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.ops = dsa.check_ops(ops)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    @staticmethod
    def transform(op, x, u):
        """The group `op` with draws u [N, MAX_DRAWS] in [0, 1): [N, H, W, C] -> the same."""
        return transforms.apply(op, x, u, ops)

    def call(self, x, training=False):
        if not training or not self.ops:
            return x
        choice = keras.random.randint((), 0, len(self.ops), seed=self.generator)
        u = keras.random.uniform((ops.shape(x)[0], transforms.MAX_DRAWS), seed=self.generator)
        return ops.switch(choice, [lambda x, u, op=op: self.transform(op, x, u)
                                   for op in self.ops], x, u)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), 'ops': list(self.ops), 'seed': self.seed}
