"""Differentiable Siamese Augmentation (DSA; Zhao and Bilen, ICML 2021), as the field uses it.

DSA is the augmentation of the dataset-distillation benchmarks (DC / DSA / DM / MTT and
DD-Ranking): every batch draws ONE of its transformations, each image its own random
parameters. The groups, their ranges (here) and their formulas (`transforms`, written once
for any array namespace) drive both places tfkip applies them:

- inside the distillation losses, to the support images (`tfkip.augment.dsa`, JAX,
  differentiable with respect to the images), so distilled images are learned to survive it;
- in the Keras evaluation (`tfkip.transfer.augment`), where a network trains on the set.

This module imports neither JAX nor Keras.
"""
from tfkip.errors import TfkipError

# The transformation groups in DSA's order; 'color' is brightness, saturation and contrast.
OPS = ('color', 'crop', 'cutout', 'flip', 'scale', 'rotate')
# For datasets whose builder says flips do not suit them (digits have a handedness).
NO_FLIP = tuple(op for op in OPS if op != 'flip')

BRIGHTNESS = 1.0   # x + (u - 0.5) * BRIGHTNESS
SATURATION = 2.0   # channel deviations from the pixel's channel mean times u * SATURATION
CONTRAST = 0.5     # deviations from the image mean times u + CONTRAST
CROP = 0.125       # translation by up to this fraction of the size (whole pixels), zeros in
CUTOUT = 0.5       # a zeroed square of this fraction of the size, centred anywhere
FLIP = 0.5         # probability of a horizontal flip
SCALE = 1.2        # each axis scaled by a factor in [1/SCALE, SCALE]
ROTATE = 15.0      # rotation by up to this many degrees


def check_ops(ops, name='augmentation'):
    """`ops` as a tuple of known DSA groups; raises TfkipError naming `name` otherwise."""
    if isinstance(ops, str):
        ops = tuple(op for op in ops.replace(',', ' ').split() if op)
    ops = tuple(ops)
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise TfkipError(f'{name}: unknown augmentation {unknown[0]!r}; choose from '
                         f'{", ".join(OPS)}')
    if len(set(ops)) != len(ops):
        raise TfkipError(f'{name}: {list(ops)} names an augmentation twice')
    return ops
