"""Kernel matrices assembled from blocks of image pairs, for bounded memory.

`blocked(block_fn, x1, x2, hparams, max_pairs)` maps `block_fn` over blocks of at most
`max_pairs` pairs with `lax.map`, each block under `jax.checkpoint` (recomputed in the
backward pass rather than stored), so memory stays bounded by one block, forward and
backward, whatever N1 and N2 are. Every implementation of the kernel table uses it.
"""
import math

import jax
import jax.numpy as jnp


def to_blocks(x, size):
    """[N, ...] -> [ceil(N / size), size, ...] for every array in the pytree x, padded
    by repeating the last row.

    Repeating a real row (not zeros) keeps padded kernel entries finite (a zero
    image has zero variance when b_std = 0, and the arc-cosine kernel divides by it).
    """
    def split(a):
        num_blocks = -(-a.shape[0] // size)
        pad = num_blocks * size - a.shape[0]
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1), mode='edge')
        return a.reshape((num_blocks, size) + a.shape[1:])
    return jax.tree.map(split, x)


def blocked(block_fn, x1, x2, hparams, max_pairs, prepare2=None):
    """Assembles `block_fn(x1, prepare2(x2, hparams), hparams) -> [N1, N2]` from blocks
    of at most `max_pairs` image pairs (at most sqrt(max_pairs) columns, as many rows as
    fit), mapped one at a time with `lax.map`: for each block of x2, `prepare2` once,
    then every block of x1. x1 and x2 may be pytrees of arrays that share their
    leading (image) axis."""
    prepare2 = prepare2 or (lambda b, h: b)
    n1, n2 = jax.tree.leaves(x1)[0].shape[0], jax.tree.leaves(x2)[0].shape[0]
    if n1 * n2 <= max_pairs:
        return block_fn(x1, prepare2(x2, hparams), hparams)
    s2 = balanced(n2, math.isqrt(max_pairs))
    s1 = balanced(n1, max_pairs // s2)
    b1, b2 = to_blocks(x1, s1), to_blocks(x2, s2)
    block_fn = jax.checkpoint(block_fn)

    def column(b):
        # Computed outside the loop over x1 blocks, so XLA materializes it once
        # rather than fusing it into (and recomputing it in) every block.
        b = prepare2(b, hparams)
        return jax.lax.map(lambda a: block_fn(a, b, hparams), b1)

    k = jax.lax.map(column, b2)  # [blocks2, blocks1, s1, s2]
    k = k.transpose(1, 2, 0, 3).reshape(k.shape[1] * s1, k.shape[0] * s2)
    return k[:n1, :n2]


def balanced(n, size):
    """The block size <= `size` that splits n rows into as few blocks as `size` does, of
    equal size: the least padding (1,000 rows at most 300 a block: 4 blocks of 250, not
    4 of 300 with 200 rows of padding)."""
    num_blocks = -(-n // min(n, size))
    return -(-n // num_blocks)
