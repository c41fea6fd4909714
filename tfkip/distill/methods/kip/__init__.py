"""KIP (Nguyen, Chen, Lee 2021; Nguyen, Novak, Xiao, Lee 2021): learn the support images (and
labels) so that kernel ridge regression on them with the exact infinite-width kernel fits
real target batches (`step.py` beside this)."""
from tfkip.distill.methods import Method, register


class KIP(Method):
    name = 'kip'
    summary = 'learn images (and labels) on the exact kernel'
    title = 'KIP with the infinite-width {} kernel'
    learns = True
    augments = True
    losses = ('mse', 'platt')

    def learned(self, config):
        return (('images',) + ('labels',) * config.learn_labels
                + ('hparams',) * config.learn_hparams
                + ('log_temperature',) * (config.loss == 'platt'))

    def extra_params(self, config):
        if config.loss != 'platt':
            return {}
        import jax.numpy as jnp
        from tfkip.distill.methods.kip.step import PLATT_TEMPERATURE
        return {'log_temperature': jnp.log(jnp.float32(PLATT_TEMPERATURE))}

    def step_kernels(self, config, num_classes):
        """The two kernel matrices of a step (`tfkip.distill.step_kernels`)."""
        from tfkip.distill import step_kernels
        from tfkip.kernels.kernel import make_kernel_fn
        return step_kernels.exact(make_kernel_fn(config.kernel, num_classes))

    def pair(self, config, num_classes, image_shape, mesh):
        from tfkip.augment.dsa import make_augment
        from tfkip.distill.methods.kip.step import kip
        return kip(self.step_kernels(config, num_classes),
                   learning_rate=config.learning_rate_fn(), reg=config.reg,
                   learn=self.learned(config), loss=config.loss, seed=config.seed, mesh=mesh,
                   factor=config.factor,
                   augment=make_augment(config.augmentation) if config.augmentation else None)

    def finish(self, config, params, context):
        import numpy as np
        return params, {'platt_temperature': (float(np.exp(params['log_temperature']))
                                              if 'log_temperature' in params else None)}


register(KIP())
