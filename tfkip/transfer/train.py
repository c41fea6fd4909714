"""Finite-width transfer: train a Keras network on a distilled set, test it on real images.

Two named protocols (`PROTOCOLS`), each one `TransferConfig`:

- `standard`: the evaluation of DC / DSA / DM / MTT / DATM and the DD-Ranking benchmark:
  ConvNet-3 of width 128 with instance normalization, ReLU and 2x2 average pooling,
  PyTorch's default initialisers (as the field's code); SGD, learning rate 0.01, momentum
  0.9, weight decay 5e-4 (an L2 penalty, as PyTorch's SGD applies it), the learning rate x0.1
  at half the steps; batch 256; 1000 epochs; cross-entropy on one-hot labels, MSE on learned
  (soft) labels; DSA augmentation (`tfkip.transfer.augment`; no flips for digits).
- `kip`: the KIP authors' finite-network training: the paper's ConvNet (optionally an extra
  first conv), no normalization, Flatten readout, weights N(0, W_std^2/fan_in) with
  W_std = sqrt(2), biases N(0, 0.1^2), MSE on labels shifted by -1/C (learned labels as they
  are), SGD momentum 0.9 with a cosine schedule, batch 100, 5000 steps, L2 1e-3, no
  augmentation. The paper trained width 1024; the preset is 128 so that it runs on a CPU
  (`width=1024` for the paper's).

`train_and_evaluate` trains one model per seed and classifies the real test images (through
the set's `ZCAWhitening` layer when given), reporting each seed's accuracy, mean and std.
"""
import dataclasses
import math

import numpy as np

from tfkip import augment as dsa
from tfkip.errors import TfkipError, check_choices, check_positive

MODELS = ('auto', 'convnet', 'mlp')
LOSSES = ('auto', 'xent', 'mse', 'soft_xent')
OPTIMIZERS = ('sgd', 'adam')
SCHEDULES = ('step', 'cosine', 'constant')
INITS = ('torch', 'keras', 'kernel')
NORMALIZATIONS = ('none', 'instance', 'batch')
POOLINGS = ('avg', 'max')


@dataclasses.dataclass(frozen=True)
class TransferConfig:
    """A training-and-test protocol for the Keras network.

    Attributes:
      protocol: the name of the preset these values started from (reports show it).
      model: 'convnet', 'mlp' (the FC kernel's finite network), or 'auto': the network of
        the kernel the set was distilled with (MLP for 'fc', else the ConvNet).
      width: conv channels (mlp: hidden units).
      depth: conv blocks (mlp: hidden layers).
      normalization: 'none', 'instance' or 'batch' (ConvNet).
      pooling: 'avg' or 'max' (ConvNet).
      prepend_conv: ConvNet: an extra 3x3 conv + ReLU before the blocks (KIP's 'ConvNet').
      init: 'torch' (PyTorch's default initialisers, which the field's evaluation code
        uses: U(+-1/sqrt(fan_in)) weights and biases), 'keras' (Keras's: Glorot-uniform
        kernels, zero biases) or 'kernel' (N(0, W_std^2/fan_in) weights, N(0, b_std^2)
        biases: the infinite-width kernel's network at initialisation).
      loss: 'xent' (cross-entropy on the argmax labels), 'mse' (regress the label vectors),
        'soft_xent' (cross-entropy on softmax(label vector / label_temperature): learned
        labels as a distribution), or 'auto': xent for one-hot labels, mse for learned ones.
      label_temperature: soft_xent's temperature (> 0): the smaller, the nearer the argmax.
      optimizer: 'sgd' (with `momentum`) or 'adam'.
      learning_rate: the (peak) learning rate.
      momentum: SGD momentum.
      weight_decay: L2 coefficient: the gradient of every weight gains weight_decay * w.
      schedule: 'step' (x0.1 at half the steps), 'cosine' (to 0) or 'constant'.
      epochs: passes over the set (unless `steps` is set).
      steps: batches to train, instead of `epochs` passes (None: epochs).
      batch_size: capped at the set's size.
      augmentation: DSA groups (`tfkip.augment.OPS`) applied in training; none if empty (the
        flag alone).
      seeds: one model per seed.
    """
    protocol: str = 'standard'
    model: str = dataclasses.field(default='auto', metadata={'choices': MODELS})
    width: int = 128
    depth: int = 3
    normalization: str = dataclasses.field(default='instance',
                                           metadata={'choices': NORMALIZATIONS})
    pooling: str = dataclasses.field(default='avg', metadata={'choices': POOLINGS})
    prepend_conv: bool = False
    init: str = dataclasses.field(default='torch', metadata={'choices': INITS})
    loss: str = dataclasses.field(default='auto', metadata={'choices': LOSSES})
    label_temperature: float = 1.0
    optimizer: str = dataclasses.field(default='sgd', metadata={'choices': OPTIMIZERS})
    learning_rate: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = dataclasses.field(default='step', metadata={'choices': SCHEDULES})
    epochs: int = 1000
    steps: int | None = None
    batch_size: int = 256
    augmentation: tuple = dataclasses.field(default=dsa.OPS, metadata={'metavar': 'OP'})
    seeds: tuple = dataclasses.field(default=(0, 1, 2, 3, 4),
                                     metadata={'item': int, 'metavar': 'SEED'})

    def __post_init__(self):
        object.__setattr__(self, 'augmentation', dsa.check_ops(self.augmentation))
        object.__setattr__(self, 'seeds', tuple(self.seeds))
        check_choices(self)
        for name in ('width', 'depth', 'epochs', 'batch_size'):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise TfkipError(f'{name} must be an integer >= 1, got {getattr(self, name)!r}')
        if self.steps is not None and (not isinstance(self.steps, int) or self.steps < 1):
            raise TfkipError(f'steps must be an integer >= 1 or None, got {self.steps!r}')
        for name in ('learning_rate', 'momentum', 'weight_decay'):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise TfkipError(f'{name} must be a number >= 0, got {value!r}')
        check_positive(self, ('learning_rate', 'label_temperature'))
        if not self.seeds:
            raise TfkipError('seeds must not be empty')
        if not all(isinstance(s, int) and 0 <= s < 2**32 for s in self.seeds):  # NumPy's range
            raise TfkipError(f'seeds must be integers in [0, 2**32), got {list(self.seeds)}')

    def total_steps(self, set_size):
        """Batches the protocol trains on a set of `set_size` images."""
        if self.steps is not None:
            return self.steps
        return self.epochs * math.ceil(set_size / min(self.batch_size, set_size))

    def network(self, architecture):
        """'convnet' or 'mlp': `model`, with 'auto' resolved from the kernel's architecture."""
        if self.model != 'auto':
            return self.model
        return 'mlp' if architecture == 'fc' else 'convnet'


PROTOCOLS = {
    'standard': TransferConfig(),
    'kip': TransferConfig(
        protocol='kip', normalization='none', init='kernel', loss='mse', schedule='cosine',
        weight_decay=1e-3, steps=5000, batch_size=100, augmentation=()),
}


def protocol(name, **overrides):
    """The TransferConfig of protocol `name` with `overrides` (None values ignored)."""
    if name not in PROTOCOLS:
        raise TfkipError(f'unknown transfer protocol {name!r}; choose one of '
                         f'{", ".join(PROTOCOLS)}')
    return dataclasses.replace(PROTOCOLS[name],
                               **{k: v for k, v in overrides.items() if v is not None})


def protocols(names=None, dataset=None, **overrides):
    """One TransferConfig per protocol in `names` (each once; none: TransferConfig's default
    protocol), with `overrides`; without an
    `augmentation` override, each protocol's DSA groups less those `dataset` does not take
    (no flips for digits, `tfkip.publish.augmentation`)."""
    from tfkip.publish import augmentation
    configs = []
    for name in dict.fromkeys(names or (TransferConfig.protocol,)):
        config = protocol(name, **overrides)
        if overrides.get('augmentation') is None:
            allowed = augmentation(dataset)
            config = dataclasses.replace(config, augmentation=tuple(
                op for op in config.augmentation if op in allowed))
        configs.append(config)
    return tuple(configs)


def softmax(logits):
    """[N, C] -> [N, C] float32 rows summing to 1."""
    shifted = np.exp(logits - logits.max(1, keepdims=True))
    return (shifted / shifted.sum(1, keepdims=True)).astype(np.float32)


def is_one_hot(soft_labels):
    """Whether [N, C] labels are one-hot vectors, plain or shifted by -1/C (fixed labels)."""
    soft_labels = np.asarray(soft_labels, np.float64)
    shift = soft_labels.min(axis=1, keepdims=True)
    return bool(np.allclose(soft_labels - shift, np.eye(soft_labels.shape[1])[
        soft_labels.argmax(1)], atol=1e-6))


def _optimizer(config, total_steps):
    import keras
    lr = config.learning_rate
    if config.schedule == 'cosine':
        lr = keras.optimizers.schedules.CosineDecay(lr, total_steps)
    elif config.schedule == 'step':
        lr = keras.optimizers.schedules.PiecewiseConstantDecay([total_steps // 2], [lr, lr * 0.1])
    if config.optimizer == 'adam':
        return keras.optimizers.Adam(lr)
    return keras.optimizers.SGD(lr, momentum=config.momentum)


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


def _batches(images, targets, batch_size, seed):
    """Endless (images, targets) batches, reshuffled every epoch, a short last batch as a
    PyTorch DataLoader gives: NumPy, so that the JAX backend needs no TensorFlow."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(images))
        for start in range(0, len(images), batch_size):
            rows = order[start:start + batch_size]
            yield images[rows], targets[rows]


def _loss_name(config, soft_labels):
    """`config.loss`, 'auto' resolved: xent for one-hot labels, mse for learned ones."""
    if config.loss != 'auto':
        return config.loss
    return 'xent' if is_one_hot(soft_labels) else 'mse'


def _targets(config, soft_labels):
    """(its targets, the Keras loss) of `config`'s loss on the set's labels."""
    import keras
    return {
        'mse': lambda: (soft_labels, 'mse'),
        'xent': lambda: (soft_labels.argmax(1),
                         keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
        'soft_xent': lambda: (softmax(soft_labels / config.label_temperature),
                              keras.losses.CategoricalCrossentropy(from_logits=True)),
    }[_loss_name(config, soft_labels)]()


def build_network(config, image_shape, num_classes, seed, architecture=None):
    """The untrained Keras network of `config` (DSA in front where it augments), its weights
    drawn from `seed`: the same layers and weight order on every backend."""
    import keras
    from tfkip.transfer.augment import DSAugment
    from tfkip.transfer.models import conv_net, mlp
    keras.backend.clear_session()  # Keras's advice for many models in one process
    keras.utils.set_random_seed(seed)
    common = dict(width=config.width, depth=config.depth, weight_decay=config.weight_decay,
                  init=config.init, seed=seed)
    model = (mlp(image_shape, num_classes, **common) if config.network(architecture) == 'mlp'
             else conv_net(image_shape, num_classes, normalization=config.normalization,
                           pooling=config.pooling, prepend_conv=config.prepend_conv, **common))
    if config.augmentation:
        model = keras.Sequential([keras.Input(image_shape),
                                  DSAugment(config.augmentation, seed=seed), model])
    return model


def train_network(config, images, soft_labels, seed, architecture=None, jit_compile=None,
                  callbacks=()):
    """One network of `config` trained on the set with `seed`.

    Args:
      images: [N, H, W, C] float32; soft_labels: [N, K] float32.
      jit_compile: XLA for the training step (None: on JAX, where off runs eagerly; on
        TensorFlow Keras's 'auto', off on a CPU, where XLA measured 7-130% slower at every
        set size and image shape of the benchmarks: `benchmarks/keras_backends.py`).
      callbacks: Keras callbacks for the training (e.g. a benchmark's step timer).

    Returns:
      the trained Keras model (logits).
    """
    images, soft_labels = np.asarray(images, np.float32), np.asarray(soft_labels, np.float32)
    targets, loss = _targets(config, soft_labels)
    steps = config.total_steps(len(images))
    model = build_network(config, images.shape[1:], soft_labels.shape[1], seed, architecture)
    if jit_compile is None:
        import keras
        jit_compile = True if keras.backend.backend() != 'tensorflow' else 'auto'
    model.compile(optimizer=_optimizer(config, steps), loss=loss, jit_compile=jit_compile)
    model.fit(_batches(images, targets, min(config.batch_size, len(images)), seed),
              epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0,
              callbacks=list(callbacks))
    return model


def test_accuracy(model, test_images, test_labels):
    """The fraction of [M, H, W, C] `test_images` that `model` puts in their [M] labels."""
    predictions = model.predict(test_images, batch_size=500, verbose=0).argmax(1)
    return float(np.mean(predictions == test_labels))


def train_and_evaluate(config, images, soft_labels, test_images, test_labels, *, whitening=None,
                       architecture=None, progress=None):
    """Trains one network per seed and tests it.

    Args:
      config: TransferConfig (e.g. `protocol('standard')`).
      images: [N, H, W, C] float32 distilled images; soft_labels: [N, K] float32.
      test_images: [M, H, W, C] real images as the source gives them; test_labels: [M] int.
      whitening: a `ZCAWhitening` layer mapping test images into the distilled space (None if
        the test images are in that space already).
      architecture: the kernel the set was distilled with ('fc', 'convnet'; None: unknown),
        which `config.model='auto'` follows.
      progress: called with (seed, accuracy) after each seed.

    Returns:
      {'protocol', 'network', 'loss', 'steps', 'accuracies': [per seed], 'mean': float,
       'std': float (population)}.
    """
    check_compatible(images, soft_labels, test_images, test_labels, whitening)
    soft_labels = np.asarray(soft_labels, np.float32)
    test_x = np.asarray(whitening(test_images)) if whitening is not None else test_images
    accuracies = []
    for seed in config.seeds:
        model = train_network(config, images, soft_labels, seed, architecture)
        accuracies.append(test_accuracy(model, test_x, test_labels))
        if progress:
            progress(seed, accuracies[-1])
    return {'protocol': config.protocol, 'network': config.network(architecture),
            'loss': _loss_name(config, soft_labels), 'steps': config.total_steps(len(images)),
            'accuracies': accuracies, 'mean': float(np.mean(accuracies)),
            'std': float(np.std(accuracies))}
