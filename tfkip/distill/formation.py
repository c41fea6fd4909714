"""Multi-formation (IDC, Kim et al. 2022; IDM, Zhao et al. 2023): each stored H x W image
holds factor x factor sub-images of (H/factor) x (W/factor), each upsampled back to H x W
(bilinear) and trained with the stored image's label. The storage (pixels per class) is that
of the stored images; the training images are `factor**2` times as many. At factor 1 the
stored images are the training images.

`decode` is the one place a stored support set becomes the images a loss, an evaluation, a
published dataset or a network sees; `encode` makes a stored set from real images (each
downscaled by averaging factor x factor pixel blocks).
"""
import jax
import jax.numpy as jnp


def _blocks(images, factor):
    """[S, H, W, C] -> [S * factor**2, H / factor, W / factor, C], the sub-images of each
    stored image in row-major order of their position."""
    s, h, w, c = images.shape
    f = factor
    return (images.reshape(s, f, h // f, f, w // f, c).transpose(0, 1, 3, 2, 4, 5)
            .reshape(s * f * f, h // f, w // f, c))


def decode(images, labels, factor):
    """The training images and labels of a stored support set.

    Args:
      images: [S, H, W, C] float32, stored; H and W multiples of `factor`.
      labels: [S, K] float32, one per stored image.
      factor: sub-images per side (1: the stored images themselves).

    Returns:
      (images [S * factor**2, H, W, C] float32 jax array, labels [S * factor**2, K]): the
      sub-images of stored image i are rows i * factor**2 ... (i + 1) * factor**2 - 1, each
      with label i.
    """
    if factor == 1:
        return images, labels
    sub = _blocks(jnp.asarray(images), factor)
    up = jax.image.resize(sub, (sub.shape[0],) + tuple(images.shape[1:]), 'bilinear')
    return up, jnp.repeat(jnp.asarray(labels), factor * factor, axis=0)


def encode(images, factor):
    """A stored set from training-size images: [S * factor**2, H, W, C] -> [S, H, W, C], each
    consecutive group of factor**2 images downscaled (mean of factor x factor blocks) and tiled
    in row-major order, the inverse layout of `decode`."""
    if factor == 1:
        return images
    n, h, w, c = images.shape
    f = factor
    small = jnp.asarray(images).reshape(n, h // f, f, w // f, f, c).mean((2, 4))
    return (small.reshape(n // (f * f), f, f, h // f, w // f, c).transpose(0, 1, 3, 2, 4, 5)
            .reshape(n // (f * f), h, w, c))


def decoded(params, factor):
    """`params` (a method's: 'images' [S, H, W, C] stored, 'labels' [S, K], its own) with the
    images and labels a loss trains on (`decode`); the rest as it is."""
    if factor == 1:
        return params
    images, labels = decode(params['images'], params['labels'], factor)
    return {**params, 'images': images, 'labels': labels}
