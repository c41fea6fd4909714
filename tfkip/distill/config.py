"""`DistillConfig`: everything that determines a distillation run, validated once. Light: no
JAX import (the command line and config files are generated from its fields)."""
import dataclasses

from tfkip import augment
from tfkip.distill import methods
from tfkip.errors import TfkipError, check_choices, check_integers, check_positive
from tfkip.options import pick
from tfkip.kernels.config import KernelConfig

SCHEDULES = ('constant', 'cosine')
LOSSES = ('mse', 'platt')



@dataclasses.dataclass(frozen=True)
class DistillConfig:
    """Everything that determines a distillation run.

    Attributes:
      kernel: the infinite-width kernel (RFAD: the NNGP its random features approximate,
        and the kernel its result is evaluated with). The kernel evaluates every method's
        result.
      method: a registered method (`tfkip.distill.methods`): 'kip', 'rfad', 'frepo', 'dm',
        'dd', 'ls', 'random', 'herding' or 'kcenter'.
      options: the method's own options (its `Options` dataclass; None: their defaults).
      images_per_class: support images per class, as stored.
      factor: multi-formation (`tfkip.distill.formation`; methods that learn): each stored
        image holds factor x factor sub-images, each upsampled to full size and trained with
        the stored image's label, so a set stores `images_per_class` images per class and
        trains on factor**2 times as many; each sub-image starts from a downscaled real
        image (1: the stored images are the training images).
      steps: training steps (optimizer updates) of the methods that learn.
      learning_rate: the step size of every learned parameter (the peak, with a schedule):
        Adam's, or that of the method's own update rule (DM's dm_optimizer).
      lr_schedule: 'constant', or 'cosine' (decay to 0 over `steps`).
      target_batch_size: real target images per step, class-balanced (a multiple of the
        number of classes).
      reg: KRR ridge, relative to the mean eigenvalue tr(K_ss)/|S|.
      loss: kip, rfad: 'mse' (KIP's), or 'platt' (RFAD's cross-entropy of the KRR
        predictions with a learned temperature).
      augmentation: kip, rfad, dm: DSA groups (`tfkip.augment.OPS`: color crop cutout flip
        scale rotate) applied to the support images inside the loss (dm: to the real
        images too), one drawn per step; frepo: to the support images its networks train
        on; none if empty (the flag alone).
      learn_labels: learn the support labels as well as the images.
      learn_hparams: kip, rfad: learn the kernel's W_std and b_std as well.
      final_label_solve: after the steps, replace the support labels by Label Solve's
        closed-form labels for the learned images over the whole training split.
      seed: seeds the support initialisation and every target batch.
      eval_every: steps between held-out evaluations (0: only at the end).
      eval_size: held-out examples per periodic evaluation (None: all; the final one uses
        all).
      final_eval: the final set's KRR on all the held-out examples (off: none; at 10
        images/class of a ConvNet kernel it costs most of an hour of a 2-core CPU).
      checkpoint_every: steps between checkpoints (needs a workdir; 0: none).
      log_every: steps between loss checks and progress-bar updates.
    """
    kernel: KernelConfig = KernelConfig()
    method: str = dataclasses.field(default='kip',
                                    metadata={'choices': lambda: tuple(methods.REGISTRY)})
    options: object = None
    images_per_class: int = 10
    factor: int = 1
    steps: int = 1000
    learning_rate: float = 0.01
    lr_schedule: str = dataclasses.field(default='constant', metadata={'choices': SCHEDULES})
    target_batch_size: int = 1000
    reg: float = 1e-6
    loss: str = dataclasses.field(default='mse', metadata={'choices': LOSSES})
    augmentation: tuple = dataclasses.field(default=(), metadata={'metavar': 'OP'})
    learn_labels: bool = True
    learn_hparams: bool = False
    final_label_solve: bool = False
    seed: int = 0
    eval_every: int = 500
    eval_size: int | None = 2000
    final_eval: bool = True
    checkpoint_every: int = 500
    log_every: int = 50

    def __post_init__(self):
        check_choices(self)
        method = methods.get(self.method)
        if isinstance(self.kernel, dict):
            object.__setattr__(self, 'kernel', KernelConfig(**self.kernel))
        object.__setattr__(self, 'augmentation', augment.check_ops(self.augmentation))
        if self.augmentation and not method.augments:
            augmenting = [m.name for m in methods.REGISTRY.values() if m.augments]
            raise TfkipError(f'augmentation applies to the {", ".join(augmenting[:-1])} and '
                             f'{augmenting[-1]} methods, not {self.method!r}')
        if self.final_label_solve and not method.learns:
            raise TfkipError(f'final_label_solve applies to methods that learn, not '
                             f'{self.method!r}')
        if self.options is None:
            object.__setattr__(self, 'options', method.Options())
        elif isinstance(self.options, dict):  # as to_dict wrote it
            object.__setattr__(self, 'options', method.Options(**self.options))
        if type(self.options) is not method.Options:
            raise TfkipError(f'the {self.method} method takes {method.Options.__name__}, not '
                             f'{type(self.options).__name__}')
        if self.loss not in method.losses:
            raise TfkipError(f'loss {self.loss!r} does not apply to the {self.method} method '
                             f'(it takes {" or ".join(map(repr, method.losses))})')
        check_integers(self, ('images_per_class', 'factor', 'target_batch_size', 'log_every'),
                       1)
        if self.factor > 1 and not method.learns:
            raise TfkipError(f'factor {self.factor} applies to methods that learn images, not '
                             f'{self.method!r}')
        if self.factor > 1 and self.final_label_solve:
            raise TfkipError(f'factor {self.factor} does not go with final_label_solve: Label '
                             'Solve gives each training image a label, a stored image has one')
        check_integers(self, ('steps', 'eval_every', 'checkpoint_every', 'seed'), 0)
        check_positive(self, ('learning_rate',))
        if not self.reg >= 0:
            raise TfkipError(f'reg must be >= 0, got {self.reg!r}')
        if self.eval_size is not None and self.eval_size < 1:
            raise TfkipError(f'eval_size must be >= 1 or None, got {self.eval_size!r}')
        method.check(self)

    @property
    def algorithm(self):
        """The registered `methods.Method`."""
        return methods.get(self.method)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """The config `to_dict` wrote (e.g. an artifact's metadata['config'])."""
        return cls(**values)

    @classmethod
    def from_options(cls, values):
        """The config of a flat {option: value} mapping, with the option names of the command
        line and config files: the fields of DistillConfig, KernelConfig and the method's
        Options. Options absent (or None) take the method's `defaults`, else their own.

        Raises:
          TfkipError: an option of another method's.
        """
        values = {k: v for k, v in values.items() if v is not None}
        name = values.get('method', cls.__dataclass_fields__['method'].default)
        if name not in methods.REGISTRY:
            raise TfkipError(f'unknown method {name!r}; choose one of {tuple(methods.REGISTRY)}')
        method = methods.get(name)
        values = {**method.defaults, **values}
        for option, (owner, _) in methods.option_fields().items():
            if option in values and owner is not method:
                raise TfkipError(f'{option} is an option of the {owner.name} method, not of '
                                 f'{name}')
        return cls(kernel=KernelConfig(**pick(values, KernelConfig)),
                   options=method.Options(**pick(values, method.Options)),
                   **pick(values, cls, skip=('kernel', 'options')))

    def learning_rate_fn(self):
        """A float, or an optax schedule of the step."""
        if self.lr_schedule == 'cosine':
            import optax
            return optax.cosine_decay_schedule(self.learning_rate, self.steps)
        return self.learning_rate
