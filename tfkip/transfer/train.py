"""Finite-width transfer: train the Keras ConvNet on a distilled set, test it on real images.

`train_and_evaluate` trains one model per seed on (images, soft labels) with full-batch or
mini-batch steps, then classifies the real test images passed through the set's
`ZCAWhitening` layer, and reports each seed's accuracy with their mean and std.
"""
import dataclasses

import numpy as np

from tfkip.errors import TfkipError


@dataclasses.dataclass(frozen=True)
class TransferConfig:
    """Model, loss and optimizer of the transfer protocol.

    loss: 'mse' regresses the soft label vectors (the KIP objective's labels); 'xent' is
      softmax cross-entropy on the argmax labels.
    """
    width: int = 64
    depth: int = 3
    normalization: str = 'none'
    pooling: str = 'avg'
    loss: str = 'mse'
    optimizer: str = 'adam'
    learning_rate: float = 1e-3
    schedule: str = 'cosine'
    steps: int = 500
    batch_size: int = 256
    augmentation: bool = False
    seeds: tuple = (0, 1, 2)

    def __post_init__(self):
        choices = {'loss': ('mse', 'xent'), 'optimizer': ('adam', 'sgd'),
                   'schedule': ('constant', 'cosine')}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise TfkipError(f'{name} must be one of {allowed}, got {getattr(self, name)!r}')
        for name in ('width', 'depth', 'steps', 'batch_size'):
            if getattr(self, name) < 1:
                raise TfkipError(f'{name} must be >= 1, got {getattr(self, name)}')
        if not self.seeds:
            raise TfkipError('seeds must not be empty')


def _optimizer(config):
    import keras
    lr = (keras.optimizers.schedules.CosineDecay(config.learning_rate, config.steps)
          if config.schedule == 'cosine' else config.learning_rate)
    return (keras.optimizers.Adam(lr) if config.optimizer == 'adam'
            else keras.optimizers.SGD(lr, momentum=0.9))


def check_compatible(images, soft_labels, test_images, test_labels, whitening):
    """Raises TfkipError unless the distilled set, the test set and the layer fit together."""
    if images.shape[1:] != test_images.shape[1:]:
        raise TfkipError(f'distilled images are {images.shape[1:]}, the test images '
                         f'{test_images.shape[1:]}')
    if whitening is not None and tuple(whitening.image_shape) != tuple(images.shape[1:]):
        raise TfkipError(f'the whitening layer expects images {tuple(whitening.image_shape)}, '
                         f'the distilled set has {images.shape[1:]}')
    num_classes = soft_labels.shape[1]
    if len(test_labels) and test_labels.max() >= num_classes:
        raise TfkipError(f'the distilled set has {num_classes} classes, the test labels go up '
                         f'to {test_labels.max()}')


def train_and_evaluate(config, images, soft_labels, test_images, test_labels, *, whitening=None,
                       progress=None):
    """Trains one ConvNet per seed and tests it.

    Args:
      config: TransferConfig.
      images: [N, H, W, C] float32 distilled images; soft_labels: [N, K] float32.
      test_images: [M, H, W, C] real images as the source gives them; test_labels: [M] int.
      whitening: a `ZCAWhitening` layer mapping test images into the distilled space (None if
        the test images are in that space already).
    Returns:
      {'accuracies': [per seed], 'mean': float, 'std': float (population)}.
    """
    import keras
    from tfkip.transfer.models import conv_net

    check_compatible(images, soft_labels, test_images, test_labels, whitening)
    num_classes = soft_labels.shape[1]
    test_x = np.asarray(whitening(test_images)) if whitening is not None else test_images
    targets = soft_labels if config.loss == 'mse' else np.argmax(soft_labels, 1)
    loss = ('mse' if config.loss == 'mse' else
            keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    accuracies = []
    for seed in config.seeds:
        keras.utils.set_random_seed(seed)
        model = conv_net(images.shape[1:], num_classes, width=config.width, depth=config.depth,
                         normalization=config.normalization, pooling=config.pooling, seed=seed)
        if config.augmentation:
            model = keras.Sequential([keras.layers.RandomTranslation(0.125, 0.125, seed=seed),
                                      model])
        model.compile(optimizer=_optimizer(config), loss=loss)
        batch = min(config.batch_size, len(images))
        epochs = max(1, round(config.steps * batch / len(images)))
        model.fit(images, targets, batch_size=batch, epochs=epochs, verbose=0, shuffle=True)
        predictions = model.predict(test_x, batch_size=1000, verbose=0).argmax(1)
        accuracies.append(float(np.mean(predictions == test_labels)))
        if progress:
            progress(seed, accuracies[-1])
    return {'accuracies': accuracies, 'mean': float(np.mean(accuracies)),
            'std': float(np.std(accuracies))}
