"""tfkip: dataset distillation with infinitely wide networks."""
from tfkip.version import __version__
