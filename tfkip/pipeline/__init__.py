"""The whole pipeline in one run directory: `tfkip run` (see `stages` for the layout).

Names other than STAGES are imported on first use, so that the CLI's `--help` stays light.
"""
import importlib

# In order; each reads what the ones before it wrote into the run directory.
STAGES = ('preprocess', 'distill', 'publish', 'transfer', 'baseline', 'report')

_MODULES = {'RunConfig': 'config', 'load_config_file': 'config', 'run': 'stages'}
__all__ = ['STAGES'] + sorted(_MODULES)


def __getattr__(name):
    if name not in _MODULES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_MODULES[name]}'), name)
