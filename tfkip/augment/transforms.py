"""DSA's transformations, written once for any array namespace with NumPy's API:
`jax.numpy` in the distillation losses (`tfkip.augment.dsa`) and `keras.ops` in the Keras
layer of the evaluation (`tfkip.transfer.augment`).

    out = apply('rotate', x, u, jnp)   # x: [N, H, W, C] float32; u: [N, DRAWS['rotate']]

Every group is a function of the images and of uniform draws `u` in [0, 1), one row per
image, so the backends differ only in how they draw `u` and the group; given the same draws
they give the same images (`tests/test_augment.py`). The geometric groups resample each image
bilinearly at source coordinates, with zeros outside (as DSA's `grid_sample`), so gradients
reach every input pixel that contributes. Imports neither JAX nor Keras.
"""
import math

from tfkip import augment as dsa

# Uniform draws per image of each group.
DRAWS = {'color': 3, 'crop': 2, 'cutout': 2, 'flip': 1, 'scale': 2, 'rotate': 1}
MAX_DRAWS = max(DRAWS.values())


def _cast(xp, x, dtype):
    # keras.ops spells it cast, jax.numpy astype.
    return (xp.cast if hasattr(xp, 'cast') else xp.astype)(x, dtype)


def _per_image(v):
    """[N] -> [N, 1, 1, 1], to broadcast over an image."""
    return v[:, None, None, None]


def color(x, u, xp):
    """Brightness, saturation and contrast, each with its own per-image factor."""
    x = x + _per_image(u[:, 0] - 0.5) * dsa.BRIGHTNESS
    mean = xp.mean(x, axis=3, keepdims=True)
    x = (x - mean) * _per_image(u[:, 1] * dsa.SATURATION) + mean
    mean = xp.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * _per_image(u[:, 2] + dsa.CONTRAST) + mean


def sample(x, rows, cols, xp):
    """Bilinear resampling with zeros outside: out[n, i, j] = x[n] at (rows, cols)[n, i, j].

    Args:
      x: [N, H, W, C] float32.
      rows, cols: float32 source coordinates in pixels, broadcastable to [N, H, W].
      xp: the array namespace.

    Returns:
      [N, H, W, C] float32.
    """
    h, w, c = x.shape[1:]
    flat = xp.reshape(x, (-1, c))
    first = xp.reshape(xp.arange(xp.shape(x)[0]) * (h * w), (-1, 1, 1))
    r0, c0 = xp.floor(rows), xp.floor(cols)
    out = 0.0
    for r, weight_r in ((r0, 1 - (rows - r0)), (r0 + 1, rows - r0)):
        for q, weight_c in ((c0, 1 - (cols - c0)), (c0 + 1, cols - c0)):
            inside = (r >= 0) & (r <= h - 1) & (q >= 0) & (q <= w - 1)
            index = (first + _cast(xp, xp.clip(r, 0, h - 1), 'int32') * w
                     + _cast(xp, xp.clip(q, 0, w - 1), 'int32'))
            values = xp.reshape(xp.take(flat, xp.reshape(index, (-1,)), axis=0), (-1, h, w, c))
            out = out + xp.where(inside[..., None], (weight_r * weight_c)[..., None] * values,
                                 0.0)
    return out


def _affine(x, a, b, c, d, xp):
    """Each image sampled at [[a, b], [c, d]] @ (row, col) of its output pixels, the
    coordinates centred and scaled to [-1, 1] (corners at -1 and 1); a..d: [N]."""
    h, w = x.shape[1:3]
    r = xp.linspace(-1.0, 1.0, h)[None, :, None]
    q = xp.linspace(-1.0, 1.0, w)[None, None, :]
    a, b, c, d = (v[:, None, None] for v in (a, b, c, d))
    return sample(x, (a * r + b * q + 1) * (h - 1) / 2, (c * r + d * q + 1) * (w - 1) / 2, xp)


def scale(x, u, xp):
    """Each axis scaled by its own factor in [1/SCALE, SCALE]."""
    factors = 1 / dsa.SCALE + u * (dsa.SCALE - 1 / dsa.SCALE)
    zero = xp.zeros_like(factors[:, 0])
    return _affine(x, factors[:, 0], zero, zero, factors[:, 1], xp)


def rotate(x, u, xp):
    """Rotation about the centre by up to ROTATE degrees either way."""
    theta = (2 * u[:, 0] - 1) * math.radians(dsa.ROTATE)
    cos, sin = xp.cos(theta), xp.sin(theta)
    return _affine(x, cos, -sin, sin, cos, xp)


def crop(x, u, xp):
    """Translation by whole pixels, up to CROP of each side, zero-filled."""
    h, w = x.shape[1:3]
    dr = xp.floor(u[:, 0] * (2 * int(h * dsa.CROP) + 1)) - int(h * dsa.CROP)
    dc = xp.floor(u[:, 1] * (2 * int(w * dsa.CROP) + 1)) - int(w * dsa.CROP)
    rows = xp.arange(h, dtype='float32')[None, :, None] - dr[:, None, None]
    cols = xp.arange(w, dtype='float32')[None, None, :] - dc[:, None, None]
    return sample(x, rows, cols, xp)


def cutout(x, u, xp):
    """Zeros a square of CUTOUT * size pixels per side, centred anywhere in the image."""
    masks = []
    for axis, size in ((0, x.shape[1]), (1, x.shape[2])):
        side = int(size * dsa.CUTOUT + 0.5)
        centre = xp.floor(u[:, axis] * (size + 1 - side % 2))
        index = xp.arange(size, dtype='float32')[None, :]
        masks.append((index >= centre[:, None] - side // 2)
                     & (index < centre[:, None] - side // 2 + side))
    inside = masks[0][:, :, None] & masks[1][:, None, :]
    return xp.where(inside[..., None], 0.0, x)


def flip(x, u, xp):
    """A horizontal flip with probability FLIP."""
    return xp.where(_per_image(u[:, 0] < dsa.FLIP), xp.flip(x, axis=2), x)


_GROUPS = {'color': color, 'crop': crop, 'cutout': cutout, 'flip': flip, 'scale': scale,
           'rotate': rotate}


def apply(op, x, u, xp):
    """The DSA group `op` applied to x [N, H, W, C] float32 with draws u [N, >= DRAWS[op]]
    (extra columns are ignored), in the array namespace `xp`."""
    return _GROUPS[op](x, u[:, :DRAWS[op]], xp)
