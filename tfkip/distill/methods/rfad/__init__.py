"""RFAD (Loo, Hasani, Amini, Rus 2022): KIP's loop on random features of finite networks
drawn afresh every step, an estimate of the NNGP kernel at O(S + T) network passes a step.
Its sets are evaluated with the exact NNGP kernel the features approximate."""
import dataclasses

from tfkip.distill.methods import register
from tfkip.distill.methods.kip import KIP
from tfkip.errors import TfkipError, check_integers


@dataclasses.dataclass(frozen=True)
class RFADOptions:
    """RFAD's own options.

    Attributes:
      rf_models: finite networks drawn afresh every step.
      rf_width: channels (convnet) or units (fc) of those networks.
    """
    rf_models: int = 8
    rf_width: int = 128

    def __post_init__(self):
        check_integers(self, ('rf_models', 'rf_width'), 1)


class RFAD(KIP):
    name = 'rfad'
    summary = ('learn them on random features of finite networks (RFAD, Loo et al. 2022; '
               'needs --kernel nngp, the kernel it approximates and is evaluated with)')
    title = 'RFAD (random features of finite {} networks, approximating the NNGP)'
    Options = RFADOptions

    def check(self, config):
        if config.kernel.kernel != 'nngp':
            raise TfkipError("RFAD's random features approximate the NNGP kernel: use the "
                             f"'nngp' kernel (--kernel nngp), not {config.kernel.kernel!r}")

    def step_kernels(self, config, num_classes):
        from tfkip.distill import step_kernels
        from tfkip.distill.methods.rfad.features import make_feature_fn
        return step_kernels.random_features(make_feature_fn(
            config.kernel, num_models=config.options.rf_models,
            width=config.options.rf_width))


register(RFAD())
