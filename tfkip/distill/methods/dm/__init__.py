"""DM, distribution matching (Zhao and Bilen 2023): match the per-class mean features of real
and support images under a fresh random ConvNet every step (`step.py` beside this)."""
import dataclasses

from tfkip.distill.methods import Method, register
from tfkip.errors import (TfkipError, check_booleans, check_choices, check_integers,
                          check_positive)


@dataclasses.dataclass(frozen=True)
class DMOptions:
    """DM's own options.

    Attributes:
      dm_width: channels of the random ConvNets (instance norm, the `standard` protocol's
        network).
      dm_depth: their conv blocks.
      dm_queue: IDM's queue: networks kept and trained on the real targets, one SGD step a
        step, one drawn for each matching step (0: a fresh random network every step).
      dm_queue_reset: SGD steps after which a queue network is replaced by a fresh one.
      dm_queue_lr: the queue networks' SGD learning rate (momentum 0.9, weight decay 5e-4).
      dm_queue_batch: real targets per SGD step of a queue network, an evenly spaced subset
        of the step's class-major batch (0: all of it). A network's weight gradient costs
        about 7 forward passes on the CPU: this keeps a queue step near a plain one.
      dm_ce_weight: IDM's cross-entropy of the support images under the step's network,
        weighted by that network's accuracy (a fraction) on the step's real targets, times
        this (0: off). IDM's code weighs it by the accuracy in percent: its 0.5 at 1 image
        per class is 50 here.
      dm_cov_weight: IID's covariance matching (Deng et al. 2024): plus this times the
        squared distance of the real and support per-class covariances of the last block's
        channels (its code's 0.01; 0: off).
      dm_siamese: DSA's Siamese mode, as the DM and IDM authors' code augments: each class's
        real and synthetic images transformed alike, one draw per class and step (off: each
        image its own draw).
      dm_optimizer: the images' update rule: 'adam', or 'sgd' (momentum 0.5, as the DM and
        IDM authors learn images; its step size is --learning-rate).
      dm_init: how the networks start: 'kernel' (N(0, W_std^2/fan_in) weights, the
        kernel's) or 'torch' (U(+-1/sqrt(fan_in)), PyTorch's, as the DM and IDM authors'
        networks start). Instance norm makes a fresh network's features blind to the scale;
        a queue network's SGD steps are not: from 'torch' weights, about 6 times smaller in
        squared norm, the same learning rate moves them further.
    """
    dm_width: int = 128
    dm_depth: int = 3
    dm_queue: int = 0
    dm_queue_reset: int = 100
    dm_queue_lr: float = 0.01
    dm_queue_batch: int = 0
    dm_ce_weight: float = 0.0
    dm_cov_weight: float = 0.0
    dm_siamese: bool = False
    # `optimizer.RULES`' names (a test holds them equal), without importing JAX here.
    dm_optimizer: str = dataclasses.field(default='adam', metadata={'choices': ('adam', 'sgd')})
    # `convnet.INITS` (a test holds them equal).
    dm_init: str = dataclasses.field(default='kernel', metadata={'choices': ('kernel', 'torch')})

    def __post_init__(self):
        check_integers(self, ('dm_width', 'dm_depth', 'dm_queue_reset'), 1)
        check_integers(self, ('dm_queue', 'dm_queue_batch'), 0)
        check_positive(self, ('dm_queue_lr',))
        for name in ('dm_ce_weight', 'dm_cov_weight'):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0):
                raise TfkipError(f'{name} must be >= 0, got {value}')
        check_booleans(self, ('dm_siamese',))
        check_choices(self)


class DM(Method):
    name = 'dm'
    summary = ('learn them by matching class-mean features under random ConvNets (DM, Zhao '
               'and Bilen 2023), or under a queue of ConvNets trained on the real data (IDM, '
               'Zhao et al. 2023: --dm-queue); labels fixed')
    title = 'DM (class-mean features of random finite {} networks matched)'
    Options = DMOptions
    defaults = {'learn_labels': False}  # it matches features, not labels
    learns = True
    augments = True

    def check(self, config):
        if config.learn_labels or config.learn_hparams or config.final_label_solve:
            raise TfkipError('DM matches class means and learns only images: drop --learn-labels, '
                             '--learn-hparams and --final-label-solve')

    def learned(self, config):
        return ('images',)

    def pair(self, config, num_classes, image_shape, mesh):
        from tfkip.augment.dsa import make_augment
        from tfkip.distill.methods.dm.step import dm
        from tfkip.distill.convnet import Network
        o = config.options
        return dm(Network(o.dm_width, o.dm_depth, 'instance', config.kernel.W_std,
                          config.kernel.b_std, o.dm_init), num_classes, image_shape,
                  learning_rate=config.learning_rate_fn(),
                  augment=make_augment(config.augmentation) if config.augmentation else None,
                  seed=config.seed, mesh=mesh, factor=config.factor, queue=o.dm_queue,
                  queue_reset=o.dm_queue_reset, queue_lr=o.dm_queue_lr,
                  queue_batch=o.dm_queue_batch, ce_weight=o.dm_ce_weight,
                  cov_weight=o.dm_cov_weight,
                  siamese=o.dm_siamese, rule=o.dm_optimizer)

    def made_with(self, config):
        return 'convnet'


register(DM())
