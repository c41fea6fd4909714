"""`ZCAWhitening`: the preprocessing of a distilled set as a Keras 3 layer.

Built from a `tfkip.preprocess.PreprocessStats` (e.g. `info.metadata.stats` of a published
set), it maps real images [B, H, W, C] (pixels as the source gave them) into the distilled
set's space, so a model trained on the distilled set can be tested on real images, or the
layer can go in front of the model. The statistics are non-trainable weights, saved in
`.keras` files with the model.
"""
import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package='tfkip')
class ZCAWhitening(keras.layers.Layer):
    """standardize per channel -> [normalize each image] -> [x -> (x - mean) W].

    Args:
      image_shape: (H, W, C) of the inputs.
      standardize, per_image_norm, zca: which steps run (see `tfkip.preprocess.transform`).
    """

    def __init__(self, image_shape, *, standardize=True, per_image_norm=False, zca=True,
                 **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.standardize, self.per_image_norm, self.zca = standardize, per_image_norm, zca
        d, c = int(np.prod(self.image_shape)), self.image_shape[-1]
        fixed = dict(trainable=False, initializer='zeros')
        if standardize:
            self.channel_mean = self.add_weight(shape=(c,), name='channel_mean', **fixed)
            self.channel_std = self.add_weight(shape=(c,), name='channel_std', trainable=False,
                                               initializer='ones')
        if zca:
            self.zca_mean = self.add_weight(shape=(d,), name='zca_mean', **fixed)
            self.whitening = self.add_weight(shape=(d, d), name='whitening', trainable=False,
                                             initializer='identity')

    @classmethod
    def from_stats(cls, stats, **kwargs):
        """A layer holding the statistics of a `PreprocessStats`."""
        config = stats.config
        layer = cls(stats.image_shape, standardize=config.standardize,
                    per_image_norm=config.per_image_norm, zca=config.zca, **kwargs)
        if config.standardize:
            layer.channel_mean.assign(stats.channel.mean.astype(np.float32))
            layer.channel_std.assign(stats.channel.std.astype(np.float32))
        if config.zca:
            layer.zca_mean.assign(stats.zca.mean.astype(np.float32))
            layer.whitening.assign(stats.zca.whitening.astype(np.float32))
        return layer

    def call(self, images):
        x = ops.cast(images, 'float32')
        if self.standardize:
            x = (x - self.channel_mean) / self.channel_std
        x = ops.reshape(x, (-1, int(np.prod(self.image_shape))))
        if self.per_image_norm:
            x = x - ops.mean(x, axis=1, keepdims=True)
            norms = ops.sqrt(ops.sum(x * x, axis=1, keepdims=True))
            x = x * (np.sqrt(x.shape[1]) / ops.maximum(norms, 1e-12))
        if self.zca:
            x = ops.matmul(x - self.zca_mean, self.whitening)
        return ops.reshape(x, (-1,) + self.image_shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), 'image_shape': self.image_shape,
                'standardize': self.standardize, 'per_image_norm': self.per_image_norm,
                'zca': self.zca}
