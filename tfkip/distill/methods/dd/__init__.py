"""DD (Wang, Zhu, Torralba, Efros 2018): learn the support images by differentiating through
K steps of training a finite network on them (`step.py` beside this)."""
import dataclasses

from tfkip.distill.methods import Method, register
from tfkip.errors import check_choices, check_integers, check_positive
from tfkip.kernels.architectures import ARCHITECTURES


@dataclasses.dataclass(frozen=True)
class DDOptions:
    """DD's own options.

    Attributes:
      dd_architecture: the finite network trained in the inner loop ('fc' or 'convnet').
      dd_depth: its hidden layers or conv blocks.
      dd_width: its hidden units or channels.
      dd_inner_steps: unrolled gradient steps per outer step; memory grows with them
        (parameters per step, activations recomputed).
      dd_step_size: the initial inner step size (each step's is learned).
      dd_random_init: a fresh network initialisation every outer step (else one fixed).
    """
    dd_architecture: str = dataclasses.field(default='convnet',
                                             metadata={'choices': tuple(ARCHITECTURES)})
    dd_depth: int = 3
    dd_width: int = 32
    dd_inner_steps: int = 10
    dd_step_size: float = 0.01
    dd_random_init: bool = True

    def __post_init__(self):
        check_choices(self)
        check_integers(self, ('dd_depth', 'dd_width', 'dd_inner_steps'), 1)
        check_positive(self, ('dd_step_size',))


class DD(Method):
    name = 'dd'
    summary = ('learn them by differentiating through the training of a finite network '
               '(Wang et al. 2018; --dd-* options)')
    title = 'DD (Wang et al. 2018: learned through the training of a finite {})'
    Options = DDOptions
    learns = True
    diverged = 'the inner training diverged. Lower --dd-step-size or --learning-rate'

    def network(self, config):
        """The finite network of the inner loop, initialised with the kernel's W_std, b_std."""
        from tfkip.distill.methods.dd.step import Network
        o = config.options
        return Network(o.dd_architecture, o.dd_depth, o.dd_width, config.kernel.W_std,
                       config.kernel.b_std)

    def extra_params(self, config):
        from tfkip.distill.methods.dd.step import raw_step_sizes
        return {'raw_step_sizes': raw_step_sizes(config.options.dd_step_size,
                                                 config.options.dd_inner_steps)}

    def learned(self, config):
        return ('images',) + ('labels',) * config.learn_labels + ('raw_step_sizes',)

    def pair(self, config, num_classes, image_shape, mesh):
        from tfkip.distill.methods.dd.step import dd
        return dd(self.network(config), num_classes, image_shape,
                  learning_rate=config.learning_rate_fn(), learn=self.learned(config),
                  random_init=config.options.dd_random_init, seed=config.seed,
                  factor=config.factor)

    def finish(self, config, params, context):
        """DD's own yardstick on eval_data: networks trained by the learned inner loop."""
        import jax
        import numpy as np
        from tfkip.distill.formation import decoded
        from tfkip.distill.methods.dd.step import fresh_network_accuracy
        sizes = np.asarray(jax.nn.softplus(params['raw_step_sizes'])).tolist()
        eval_data, fresh = context['eval_data'], None
        if eval_data is not None:
            keys = ([jax.random.key(config.seed)] if not config.options.dd_random_init else
                    [jax.random.fold_in(jax.random.key(config.seed + 1), i) for i in range(3)])
            fresh = fresh_network_accuracy(self.network(config), context['train'].num_classes,
                                           decoded(params, config.factor), eval_data.images,
                                           eval_data.labels, keys)
            context['log'](f'DD: {eval_data.source} accuracy of {len(keys)} network(s) '
                           'trained by the learned inner loop: '
                           + ', '.join(f'{a:.4f}' for a in fresh))
        return params, {'dd_step_sizes': sizes, 'dd_fresh_network_accuracy': fresh}

    def made_with(self, config):
        return config.options.dd_architecture


register(DD())
