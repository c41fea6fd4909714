"""What every learning method's step shares: the init/update pair, its state, and the update
rule (Adam, or SGD) on the parameters a method learns.

A method's `pair(...)` returns a `Pair` of pure functions, `init(params) -> state` and
`update(state, x_t, y_t, weights=None) -> (state, metrics)`, which the training loop
(`tfkip.distill.train`) jits, checkpoints and resumes without knowing the method. Most
methods minimise a loss of the parameters with `loss_pair`, over a `State`; a method with
more state (a network pool) builds its own pair from `masked_optimizer`.
"""
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from tfkip.distill.formation import decoded


class State(NamedTuple):
    """The state of a `loss_pair`.

    params: {name: pytree of float32}: the method's parameters ('images' [S, H, W, C],
      'labels' [S, C], and its own).
    opt_state: the optax state of `params`.
    step: [] int32, updates applied so far.
    """
    params: Any
    opt_state: optax.OptState
    step: jax.Array


class Pair(NamedTuple):
    """`init(params) -> state`;
    `update(state, x_t, y_t, weights=None) -> (state, {'loss', 'accuracy', ...})`."""
    init: Callable
    update: Callable


def frozen(params, learn):
    """params with the entries not in `learn` behind `stop_gradient`: constants, so the
    backward pass skips what only they reach (for random features, the target images'
    networks)."""
    return {name: value if name in learn else jax.lax.stop_gradient(value)
            for name, value in params.items()}


# The update rules by name: Adam, every method's; SGD with momentum 0.5, the rule the DM and
# IDM authors learn their images by.
RULES = {'adam': optax.adam,
         'sgd': lambda learning_rate: optax.sgd(learning_rate, momentum=0.5)}


def masked_optimizer(learning_rate, learn, rule='adam'):
    """`rule` (a name in `RULES`) at `learning_rate` (a float or an optax schedule) on the
    entries of a params dict named in `learn`; the others frozen (`optax.set_to_zero`), so
    the optimizer state has one shape whatever is learned."""
    return optax.multi_transform(
        {'learn': RULES[rule](learning_rate), 'freeze': optax.set_to_zero()},
        lambda params: {name: jax.tree.map(lambda _: 'learn' if name in learn else 'freeze',
                                           value) for name, value in params.items()})


def loss_pair(loss_fn, learning_rate, learn, key_of_step, factor=1, rule='adam'):
    """The pair minimising `loss_fn(params, x_t, y_t, weights, key) -> (loss, metrics)` with
    `masked_optimizer` (`rule`) over `State`; step i gets `key_of_step(i)`. The state holds
    the stored support set; `loss_fn` sees its training images (`formation.decoded` at
    `factor`)."""
    optimizer = masked_optimizer(learning_rate, learn, rule)

    def init(params):
        return State(params, optimizer.init(params), jnp.zeros([], jnp.int32))

    def update(state, target_images, target_labels, target_weights=None):
        (value, metrics), grads = jax.value_and_grad(
            lambda params, *args: loss_fn(decoded(params, factor), *args), has_aux=True)(
            state.params, target_images, target_labels, target_weights,
            key_of_step(state.step))
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return State(params, opt_state, state.step + 1), {'loss': value, **metrics}

    return Pair(init, update)
