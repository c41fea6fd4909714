"""`KernelConfig`: which infinite-width kernel, validated once. Light: no JAX import."""
import dataclasses
import math

from tfkip.errors import TfkipError, check_choices
from tfkip.kernels.architectures import ARCHITECTURES, DEFAULT_B_STD, DEFAULT_W_STD, READOUTS

KERNELS = ('ntk', 'nngp')
IMPLEMENTATIONS = ('auto', 'fast', 'neural_tangents')


@dataclasses.dataclass(frozen=True)
class KernelConfig:
    """Which infinite-width kernel to use.

    Attributes:
      architecture: the infinite-width network, a name of the kernel table
        (`tfkip.kernels.architectures.ARCHITECTURES`): 'fc' (fully connected) or 'convnet'
        (the KIP ConvNet: 3x3 conv + ReLU + 2x2 avg-pool blocks).
      depth: hidden layers (fc) or conv blocks (convnet).
      kernel: 'ntk' (neural tangent kernel) or 'nngp'.
      W_std: weight standard deviation (the starting value when learned).
      b_std: bias standard deviation (the starting value when learned).
      prepend_conv: convnet: one extra 3x3 conv + ReLU before the blocks.
      readout: convnet: 'flatten' (the paper's) or 'gap' (global average pooling) before
        the readout layer.
      implementation: 'fast' (the architecture's registered fast exact kernel: the same
        values, much faster), 'neural_tangents' (the reference), or 'auto' (fast where one
        is registered, else neural-tangents).
      block_size: kernel blocks hold at most block_size**2 image pairs, which bounds memory
        (None: the architecture's default; the fast convnet kernel sizes its blocks from
        the memory budget).
    """
    architecture: str = dataclasses.field(default='fc',
                                          metadata={'choices': tuple(ARCHITECTURES)})
    depth: int = 1
    kernel: str = dataclasses.field(default='ntk', metadata={'choices': KERNELS})
    W_std: float = DEFAULT_W_STD
    b_std: float = DEFAULT_B_STD
    prepend_conv: bool = False
    readout: str = dataclasses.field(default='flatten', metadata={'choices': READOUTS})
    implementation: str = dataclasses.field(default='auto',
                                            metadata={'choices': IMPLEMENTATIONS})
    block_size: int | None = None

    def __post_init__(self):
        check_choices(self)
        if not isinstance(self.depth, int) or self.depth < 1:
            raise TfkipError(f'depth must be an integer >= 1, got {self.depth!r}')
        if not (math.isfinite(self.W_std) and self.W_std > 0):
            raise TfkipError(f'W_std must be a positive number, got {self.W_std!r}')
        if not (math.isfinite(self.b_std) and self.b_std >= 0):
            raise TfkipError(f'b_std must be a number >= 0, got {self.b_std!r}')
        table = ARCHITECTURES[self.architecture]
        defaults = KernelConfig.__dataclass_fields__
        for option in ('prepend_conv', 'readout'):
            if option not in table.options and getattr(self, option) != defaults[option].default:
                takers = [name for name, a in ARCHITECTURES.items() if option in a.options]
                raise TfkipError(f'{option} applies to the {" and ".join(takers)} '
                                 'architecture only')
        if self.implementation == 'fast' and table.fast is None:
            raise TfkipError(f'the {self.architecture} architecture has no fast kernel; use '
                             "implementation 'auto' or 'neural_tangents'")
        if self.block_size is not None and self.block_size < 1:
            raise TfkipError(f'block_size must be >= 1, got {self.block_size!r}')

    def stax(self, **options):
        """The architecture's stax triple `(init_fn, apply_fn, kernel_fn)` with this config's
        depth and options; `options` (num_classes, width, W_std, b_std) pass on."""
        table = ARCHITECTURES[self.architecture]
        own = {name: getattr(self, name) for name in table.options}
        return table.stax(self.depth, **own, **options)

    @property
    def fast(self):
        """The module of the fast exact kernel `make_kernel_fn` uses, or None for
        neural-tangents."""
        return (None if self.implementation == 'neural_tangents'
                else ARCHITECTURES[self.architecture].fast)

    def initial_hparams(self):
        """`{'W_std': [] float32, 'b_std': [] float32}`, the starting hyperparameters."""
        import jax.numpy as jnp  # here, so that the configuration stays light
        return {'W_std': jnp.float32(self.W_std), 'b_std': jnp.float32(self.b_std)}

    def check_input_shape(self, image_shape):
        """Raises TfkipError if images of `image_shape` (H, W, C) cannot go through."""
        if len(image_shape) != 3:
            raise TfkipError(f'images must be [N, H, W, C]; got per-image shape {image_shape}')
        if self.architecture == 'convnet' and min(image_shape[:2]) < 2 ** self.depth:
            raise TfkipError(
                f'a depth-{self.depth} ConvNet halves height and width {self.depth} times, '
                f'so they must be at least {2 ** self.depth}; got {image_shape[:2]}. '
                'Lower --depth.')
