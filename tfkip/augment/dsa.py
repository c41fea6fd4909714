"""DSA in JAX: differentiable with respect to the images, for the distillation losses.

    augment = make_augment(('color', 'crop', ...))
    images = augment(images, key)        # [N, H, W, C] float32 -> the same shape

One transformation group is drawn per call (DSA's single mode), each image its own
parameters; the geometric ones resample the image bilinearly with zeros outside (as DSA's
`grid_sample`), so gradients reach every input pixel that contributes.
"""
import math

import jax
import jax.numpy as jnp

from tfkip import augment as dsa


def _uniform(key, n, low, high):
    return jax.random.uniform(key, (n,), jnp.float32, low, high)


def color(x, key):
    """Brightness, saturation and contrast, each with its own per-image factor."""
    kb, ks, kc = jax.random.split(key, 3)
    n = x.shape[0]
    x = x + (_uniform(kb, n, 0, 1) - 0.5)[:, None, None, None] * dsa.BRIGHTNESS
    mean = x.mean(axis=3, keepdims=True)
    x = (x - mean) * (_uniform(ks, n, 0, 1) * dsa.SATURATION)[:, None, None, None] + mean
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (_uniform(kc, n, 0, 1) + dsa.CONTRAST)[:, None, None, None] + mean


def _resample(x, rows, cols):
    """x: [H, W, C]; rows, cols: [H, W] source coordinates -> [H, W, C], zeros outside."""
    return jax.vmap(lambda channel: jax.scipy.ndimage.map_coordinates(
        channel, (rows, cols), order=1, mode='constant', cval=0.0), in_axes=2, out_axes=2)(x)


def _affine(x, matrices):
    """Each image sampled at matrices[i] @ (its output coordinates, centred, in [-1, 1]).

    x: [N, H, W, C]; matrices: [N, 2, 2] acting on (row, col)."""
    h, w = x.shape[1:3]
    r, c = jnp.meshgrid(jnp.linspace(-1, 1, h), jnp.linspace(-1, 1, w), indexing='ij')
    grid = jnp.stack([r, c])  # [2, H, W]

    def one(image, m):
        src = jnp.einsum('ij,jhw->ihw', m, grid)
        return _resample(image, (src[0] + 1) * (h - 1) / 2, (src[1] + 1) * (w - 1) / 2)
    return jax.vmap(one)(x, matrices)


def scale(x, key):
    factors = jax.random.uniform(key, (x.shape[0], 2), jnp.float32, 1 / dsa.SCALE, dsa.SCALE)
    return _affine(x, jax.vmap(jnp.diag)(factors))


def rotate(x, key):
    theta = _uniform(key, x.shape[0], -1, 1) * math.radians(dsa.ROTATE)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    return _affine(x, jnp.stack([jnp.stack([cos, -sin], 1), jnp.stack([sin, cos], 1)], 1))


def crop(x, key):
    """Integer translation by up to CROP of each side, zero-filled."""
    n, h, w = x.shape[:3]
    kr, kc = jax.random.split(key)
    dr = jax.random.randint(kr, (n,), -int(h * dsa.CROP), int(h * dsa.CROP) + 1)
    dc = jax.random.randint(kc, (n,), -int(w * dsa.CROP), int(w * dsa.CROP) + 1)
    rows = jnp.arange(h)[None, :] - dr[:, None]  # output row i reads input row i - dr
    cols = jnp.arange(w)[None, :] - dc[:, None]
    valid = (((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :])
    gathered = jax.vmap(lambda im, r, c: im[jnp.clip(r, 0, h - 1)][:, jnp.clip(c, 0, w - 1)])(
        x, rows, cols)
    return gathered * valid[..., None]


def cutout(x, key):
    """Zeros a square of CUTOUT * size pixels per side, centred anywhere in the image."""
    n, h, w = x.shape[:3]
    sh, sw = int(h * dsa.CUTOUT + 0.5), int(w * dsa.CUTOUT + 0.5)
    kr, kc = jax.random.split(key)
    cr = jax.random.randint(kr, (n,), 0, h + (1 - sh % 2))
    cc = jax.random.randint(kc, (n,), 0, w + (1 - sw % 2))
    rows, cols = jnp.arange(h), jnp.arange(w)
    inside_r = (rows[None] >= cr[:, None] - sh // 2) & (rows[None] < cr[:, None] - sh // 2 + sh)
    inside_c = (cols[None] >= cc[:, None] - sw // 2) & (cols[None] < cc[:, None] - sw // 2 + sw)
    mask = ~(inside_r[:, :, None] & inside_c[:, None, :])
    return x * mask[..., None]


def flip(x, key):
    flips = jax.random.bernoulli(key, dsa.FLIP, (x.shape[0],))
    return jnp.where(flips[:, None, None, None], x[:, :, ::-1], x)


_FNS = {'color': color, 'crop': crop, 'cutout': cutout, 'flip': flip, 'scale': scale,
        'rotate': rotate}


def make_augment(ops):
    """`augment(x: [N, H, W, C] float32, key) -> [N, H, W, C]`: one of `ops` (DSA groups,
    `tfkip.augment.OPS`) drawn from `key`, applied with per-image parameters; the identity
    when `ops` is empty."""
    ops = dsa.check_ops(ops)
    if not ops:
        return lambda x, key: x
    branches = [_FNS[op] for op in ops]

    def augment(x, key):
        choice, key = jax.random.split(key)
        return jax.lax.switch(jax.random.randint(choice, (), 0, len(branches)), branches, x, key)
    return augment
