"""Class-balanced sampling of support initialisations and target batches, and every random
stream of distillation, declared here once.

Host-side randomness comes from `rng(seed, stream, step)`, a fresh numpy Generator per
(stream, step), so step k draws the same batch whether or not the run was resumed
from a checkpoint in between: resumption is exact without storing RNG state. A method's
in-step randomness comes from the step's JAX key, `fold_in(key(seed), step)`; what it draws
for a purpose of its own it draws from `fold_in(that key, <its stream below>)`, so that two
purposes never share draws. A new purpose takes a new number here.
"""
import numpy as np

from tfkip.errors import TfkipError

# numpy streams, `rng(seed, STREAM, step)`.
SUPPORT_STREAM = 0  # the support set's real images
TARGET_STREAM = 1  # each step's target batch
# JAX streams, folded into a key.
POOL_STREAM = 3  # FRePo: into the seed's key, for the networks of its pool
NETWORK_STREAM = 4  # DM: into a step's key, for that step's random network
AUGMENT_STREAM = 1 << 20  # into a step's key, for its augmentation draws


def rng(seed, stream, step=0):
    """The numpy Generator for (seed, stream, step)."""
    return np.random.default_rng([seed, stream, step])


class ClassIndex:
    """Indices of each class, built once from labels: [N] int in [0, num_classes)."""

    def __init__(self, labels, num_classes, source='the training data'):
        labels = np.asarray(labels)
        self.by_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
        self.source = source

    def check_per_class(self, per_class, what):
        counts = [len(idx) for idx in self.by_class]
        short = [c for c, n in enumerate(counts) if n < per_class]
        if short:
            raise TfkipError(
                f'{what} needs {per_class} examples of every class, but {self.source} '
                f'has only {counts[short[0]]} of class {short[0]} (classes short: '
                f'{short}); lower {what} or use more data')

    def sample(self, per_class, generator):
        """`per_class` distinct indices of each class, class-major order -> [per_class * C]."""
        return np.concatenate([generator.choice(idx, per_class, replace=False)
                               for idx in self.by_class])


def random_subset(split, per_class, seed=0):
    """[per_class * C] indices of `split` (LabeledImages): the class-balanced real images a
    distillation with `seed` starts from at factor 1, the reference a set of `per_class`
    stored images per class is compared with."""
    index = ClassIndex(split.labels, split.num_classes, split.source)
    index.check_per_class(per_class, 'the random subset')
    return index.sample(per_class, rng(seed, SUPPORT_STREAM))


def hold_out(split, seed=123):
    """(split less a tenth of each class, that tenth): a validation split carved from a
    training split (LabeledImages), a tenth of its smallest class from every class, drawn
    with `seed`; where settings are chosen, never on test."""
    import dataclasses
    index = ClassIndex(split.labels, split.num_classes, split.source)
    held = index.sample(min(map(len, index.by_class)) // 10, np.random.default_rng(seed))
    part = lambda rows, name: dataclasses.replace(
        split, images=split.images[rows], labels=split.labels[rows], source=split.source + name)
    return part(np.setdiff1d(np.arange(len(split.labels)), held), '[less validation]'), part(
        held, '[validation]')
