"""FRePo (Zhou, Nezhadarya, Ba 2022): KIP's loss on the features of a pool of finite ConvNets
trained online on the support set (`step.py` beside this). Its sets are evaluated with the
config's kernel, like every method's; the network is the `standard` protocol's ConvNet."""
import dataclasses

from tfkip.distill.methods import Method, register
from tfkip.errors import TfkipError, check_choices, check_integers, check_positive

NORMALIZATIONS = ('instance', 'none')


@dataclasses.dataclass(frozen=True)
class FRePoOptions:
    """FRePo's own options (defaults: the paper's).

    Attributes:
      frepo_models: networks in the pool.
      frepo_reset: online updates after which a network is replaced by a fresh one.
      frepo_online_lr: the networks' Adam step size.
      frepo_width: channels of the networks.
      frepo_depth: their conv blocks.
      frepo_normalization: 'instance' (the `standard` protocol's network) or 'none'.
    """
    frepo_models: int = 10
    frepo_reset: int = 100
    frepo_online_lr: float = 3e-4
    frepo_width: int = 128
    frepo_depth: int = 3
    frepo_normalization: str = dataclasses.field(default='instance',
                                                 metadata={'choices': NORMALIZATIONS})

    def __post_init__(self):
        check_choices(self)
        check_integers(self, ('frepo_models', 'frepo_reset', 'frepo_width', 'frepo_depth'), 1)
        check_positive(self, ('frepo_online_lr',))


class FRePo(Method):
    name = 'frepo'
    summary = ('learn them on the features of a pool of finite ConvNets trained online on '
               'the set (FRePo, Zhou et al. 2022; --frepo-* options)')
    title = 'FRePo (features of finite {} networks trained online on the set)'
    Options = FRePoOptions
    learns = True
    augments = True  # the networks train on augmented support images

    def check(self, config):
        if config.learn_hparams:
            raise TfkipError('FRePo has no kernel hyperparameters to learn '
                             '(drop --learn-hparams)')

    def learned(self, config):
        return ('images',) + ('labels',) * config.learn_labels

    def network(self, config):
        from tfkip.distill.convnet import Network
        o = config.options
        return Network(o.frepo_width, o.frepo_depth, o.frepo_normalization,
                       config.kernel.W_std, config.kernel.b_std)

    def pair(self, config, num_classes, image_shape, mesh):
        from tfkip.augment.dsa import make_augment
        from tfkip.distill.methods.frepo.step import frepo
        o = config.options
        return frepo(self.network(config), num_classes, image_shape,
                     learning_rate=config.learning_rate_fn(), reg=config.reg,
                     learn=self.learned(config), pool_size=o.frepo_models,
                     reset_every=o.frepo_reset, online_learning_rate=o.frepo_online_lr,
                     augment=make_augment(config.augmentation) if config.augmentation else None,
                     seed=config.seed, mesh=mesh, factor=config.factor)

    def made_with(self, config):
        return 'convnet'


register(FRePo())
