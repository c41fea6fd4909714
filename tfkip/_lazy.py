"""Package attributes imported on first use, so that light modules (configurations, the
command line's option tables) can be imported without JAX, TensorFlow or Keras."""
import importlib


def attributes(package, modules):
    """A module `__getattr__` for `package`: name -> getattr(package.modules[name], name)."""
    def __getattr__(name):
        if name not in modules:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        return getattr(importlib.import_module(f'{package}.{modules[name]}'), name)
    return __getattr__
