"""DSA in JAX: differentiable with respect to the images, for the distillation losses.

    augment = make_augment(('color', 'crop', ...))
    images = augment(images, key)        # [N, H, W, C] float32 -> the same shape

One transformation group is drawn per call (DSA's single mode), each image its own
parameters: the draws of `tfkip.augment.transforms`, whose formulas the Keras layer of the
evaluation shares.
"""
import jax
import jax.numpy as jnp

from tfkip import augment as dsa
from tfkip.augment import transforms


def make_augment(ops):
    """`augment(x: [N, H, W, C] float32, key, groups=None) -> [N, H, W, C]`: one of `ops` (DSA
    groups, `tfkip.augment.OPS`) drawn from `key`, applied with per-image parameters, or, given
    `groups` ([N, G] one-hot), with one set of parameters per group: DSA's Siamese mode, where
    two calls with the same key transform each group's images alike (the real and the
    synthetic images of a class, in DM). The identity when `ops` is empty."""
    ops = dsa.check_ops(ops)
    if not ops:
        return lambda x, key, groups=None: x
    branches = [lambda x, u, op=op: transforms.apply(op, x, u, jnp) for op in ops]

    def augment(x, key, groups=None):
        choice, draws = jax.random.split(key)
        rows = x.shape[0] if groups is None else groups.shape[1]
        u = jax.random.uniform(draws, (rows, transforms.MAX_DRAWS), jnp.float32)
        if groups is not None:
            u = groups.astype(jnp.float32) @ u  # each image its group's row, exactly
        return jax.lax.switch(jax.random.randint(choice, (), 0, len(branches)), branches, x, u)
    return augment
