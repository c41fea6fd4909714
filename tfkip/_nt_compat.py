"""The one door to neural-tangents: import `nt` and `stax` from here, never directly.

neural-tangents 0.6.5 (the latest release) does not import on current JAX
(google/neural-tangents#209): its modules run `from jax.core import Jaxpr` and
friends, `from jax.util import safe_map`, and read `jax.interpreters.ad.zeros_like_p`
at import time, all of which JAX has since removed. Before importing it we put those
names back, taken from where JAX keeps them now (`jax.extend.core` first, the
private `jax._src.core` only where no public home exists; `jax.util`'s two helpers
are re-made here). Only names that are missing are added, so on a JAX that still has
them nothing changes.

On a machine without TensorFlow (the accelerator image: neural-tangents 0.6.5 declares
TensorFlow and tf2jax but only its `experimental` TensorFlow-model kernels use them, at
import time) `neural_tangents.experimental` is an empty stand-in, so the rest imports.

What works behind this shim: the analytic (infinite-width) kernels of `stax`, which
is all tfkip uses. What does not: NT's empirical and Monte-Carlo kernels, which
trace through `jax.linearize` internals whose signatures changed; tfkip never
calls them (tests compare against finite networks with their own code instead).

`tests/test_nt_compat.py` checks the kernels against closed forms and that no other
module of the project imports neural_tangents directly.
"""
import importlib
import importlib.util
import sys
import types

import jax
import jax.core
import jax.extend.core
from jax.interpreters import ad

# Names NT imports from `jax.core` at module level.
_CORE_NAMES = ('AbstractValue', 'Jaxpr', 'JaxprEqn', 'Literal', 'Primitive',
               'ShapedArray', 'Value', 'Var')


def _private_core(name):
    """`jax._src.core.<name>`, or None; used only where no public home exists."""
    try:
        return getattr(importlib.import_module('jax._src.core'), name)
    except (ImportError, AttributeError):
        return None


def _same_length(args):
    """The iterables in `args` as lists, checked to be equally long (jax.util's contract)."""
    args = [list(a) for a in args]
    if len({len(a) for a in args}) > 1:
        raise ValueError(f'length mismatch: {[len(a) for a in args]}')
    return args


def _install():
    for name in _CORE_NAMES:
        if not hasattr(jax.core, name):
            value = getattr(jax.extend.core, name, None) or _private_core(name)
            if value is None:
                raise ImportError(
                    f'tfkip._nt_compat: jax {jax.__version__} has no {name} in jax.core, '
                    'jax.extend.core or jax._src.core; neural-tangents 0.6.5 needs it. '
                    'Install the jax version pinned in setup.py.')
            setattr(jax.core, name, value)
    if 'jax.util' not in sys.modules:
        util = types.ModuleType('jax.util', 'Re-creation of the removed jax.util for NT.')
        util.safe_map = lambda f, *args: list(map(f, *_same_length(args)))
        util.safe_zip = lambda *args: list(zip(*_same_length(args)))
        sys.modules['jax.util'] = jax.util = util
    if not all(importlib.util.find_spec(name) for name in ('tensorflow', 'tf2jax')):
        sys.modules.setdefault('neural_tangents.experimental', types.ModuleType(
            'neural_tangents.experimental', 'Stand-in: TensorFlow is not installed.'))
    if not hasattr(ad, 'zeros_like_p'):
        # NT registers rules keyed by this primitive; JAX no longer emits it, so a
        # fresh primitive of the same name is a key that simply never matches.
        ad.zeros_like_p = jax.extend.core.Primitive('zeros_like')


_install()

import neural_tangents as nt  # noqa: E402
from neural_tangents import stax  # noqa: E402

__all__ = ['nt', 'stax']
