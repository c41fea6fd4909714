"""Distillation methods as registered values: one module each in this package.

A method is a `Method` instance registered with `register`; the training loop
(`tfkip.distill.train`), the command line, `DistillConfig`'s checks and the TFDS builders'
configs read it from `REGISTRY` and know no method by name. A method declares:

- `name`, `summary` (the command line's help), `title` (the TFDS configs' description; '{}'
  stands for the network), `publishes_as` (the method whose TFDS configs hold its sets),
  `labels` (what its sets' labels are without learning: 'one-hot' or 'solved'), `losses`
  (the `loss` values it takes; 'mse' also stands for a method's own loss) and
  `Options`, a frozen dataclass of its own options (field names unique across methods: they
  are the command line's and config files' option names);
- `defaults`: {DistillConfig field: value} the method takes when the option is not given
  (DM: fixed labels), applied by `DistillConfig.from_options` (the command line, config files);
- `learns`: it runs the training loop (`pair`), with steps, target batches, checkpoints
  and exact resume; `augments`: its loss can augment the support images; `diverged`: the
  advice when its loss stops being finite;
- hooks: `check(config)`, `start(config, train, params)` (the support set before any step:
  coresets choose their rows here), `extra_params(config)`, `learned(config)`,
  `pair(config, num_classes, image_shape, mesh)`, `finish(config, params, context)` (a last
  touch and its metadata) and `made_with(config)` (the network its sets are published
  under, or None).

Each method is a folder here: its `__init__.py` declares and registers it, importing only
light things at the top (heavy imports inside the hooks), so that the command line can list
the methods and their options without loading JAX; its algorithm sits beside it (`step.py`,
the init/update pair of a method that learns). What the steps share is in
`tfkip.distill.optimizer` (the pair, its state, Adam on what is learned), `distributed`
(splitting a step over devices) and `sampling` (batches, and every random stream). A new
method is one new folder here.
"""
import dataclasses
import importlib
import pkgutil


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """A method without options of its own."""


class Method:
    """The defaults of every hook; a method module subclasses this and overrides."""
    name = ''
    summary = ''
    title = ''
    Options = NoOptions
    defaults = {}
    learns = False
    augments = False
    labels = 'one-hot'  # the labels its sets get without learning: 'one-hot' or 'solved'
    losses = ('mse',)
    diverged = 'the support kernel is too ill-conditioned for float32. Raise --reg (e.g. 10x) '\
               'or lower --learning-rate'

    @property
    def publishes_as(self):
        return self.name

    def check(self, config):
        """Raises TfkipError if `config` (a DistillConfig) does not fit the method."""

    def start(self, config, train, params):
        """The support set before any step; `params` holds the real images drawn with the
        seed and their centered one-hot labels."""
        return params

    def extra_params(self, config):
        """Parameters of its own beyond images, labels and hparams (e.g. DD's step sizes)."""
        return {}

    def learned(self, config):
        """The names of `params` the steps update."""
        return ()

    def pair(self, config, num_classes, image_shape, mesh):
        """The init/update pair of the training loop (`learns` methods)."""
        raise NotImplementedError

    def finish(self, config, params, context):
        """After the steps: (params, metadata of its own). `context` has kernel_fn, train,
        eval_data, log and run_eval(params, images, labels)."""
        return params, {}

    def made_with(self, config):
        """The network its sets are published under ('convnet', 'fc'), or None."""
        return config.kernel.architecture


REGISTRY = {}


def register(method):
    """Adds `method` (a Method instance) to the registry; returns it."""
    if method.name in REGISTRY:
        raise ValueError(f'method {method.name!r} is registered twice')
    REGISTRY[method.name] = method
    return method


def get(name):
    """The registered method called `name` (KeyError if none)."""
    return REGISTRY[name]


def option_fields():
    """{field name: (method, dataclasses.Field)} over every method's Options."""
    fields = {}
    for method in REGISTRY.values():
        for field in dataclasses.fields(method.Options):
            if field.name in fields:
                raise ValueError(f'option {field.name!r} is declared by two methods')
            fields[field.name] = (method, field)
    return fields


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f'{__name__}.{_module.name}')
