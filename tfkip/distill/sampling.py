"""Class-balanced sampling of support initialisations and target batches.

Randomness comes from `rng(seed, stream, step)`, a fresh numpy Generator per
(stream, step), so step k draws the same batch whether or not the run was resumed
from a checkpoint in between: resumption is exact without storing RNG state.
"""
import numpy as np

from tfkip.errors import TfkipError

SUPPORT_STREAM = 0
TARGET_STREAM = 1


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
