"""DM, distribution matching (Zhao and Bilen 2023): match the per-class mean features of real
and support images under a fresh random ConvNet every step (`step.py` beside this)."""
import dataclasses

from tfkip.distill.methods import Method, register
from tfkip.errors import TfkipError, check_integers


@dataclasses.dataclass(frozen=True)
class DMOptions:
    """DM's own options.

    Attributes:
      dm_width: channels of the random ConvNets (instance norm, the `standard` protocol's
        network).
      dm_depth: their conv blocks.
    """
    dm_width: int = 128
    dm_depth: int = 3

    def __post_init__(self):
        check_integers(self, ('dm_width', 'dm_depth'), 1)


class DM(Method):
    name = 'dm'
    summary = ('learn them by matching class-mean features under random ConvNets (DM, Zhao '
               'and Bilen 2023; fixed labels: --no-learn-labels)')
    title = 'DM (class-mean features of random finite {} networks matched)'
    Options = DMOptions
    learns = True
    augments = True

    def check(self, config):
        if config.learn_labels or config.learn_hparams or config.final_label_solve:
            raise TfkipError('DM matches class means and learns only images: pass '
                             '--no-learn-labels, without --learn-hparams or --final-label-solve')

    def learned(self, config):
        return ('images',)

    def pair(self, config, num_classes, image_shape, mesh):
        from tfkip.augment.dsa import make_augment
        from tfkip.distill.methods.dm.step import dm
        from tfkip.distill.convnet import Network
        o = config.options
        return dm(Network(o.dm_width, o.dm_depth, 'instance', config.kernel.W_std,
                          config.kernel.b_std), num_classes, image_shape,
                  learning_rate=config.learning_rate_fn(),
                  augment=make_augment(config.augmentation) if config.augmentation else None,
                  seed=config.seed, mesh=mesh, factor=config.factor)

    def made_with(self, config):
        return 'convnet'


register(DM())
