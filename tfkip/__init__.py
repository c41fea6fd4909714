"""tfkip: dataset distillation with infinitely wide networks."""
from tfkip._runtime import configure_xla_cpu
from tfkip.version import __version__

__all__ = ['__version__', 'configure_xla_cpu']
