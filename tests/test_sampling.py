"""Class-balanced sampling: balanced, distinct, reproducible from (seed, stream, step)."""
import numpy as np
import pytest

from tfkip.distill.sampling import ClassIndex, rng
from tfkip.errors import TfkipError


def test_samples_are_class_balanced_distinct_and_reproducible():
    labels = np.repeat(np.arange(4), [5, 7, 9, 11])
    index = ClassIndex(labels, 4)
    batch = index.sample(3, rng(7, 1, 42))
    np.testing.assert_array_equal(labels[batch], np.repeat(np.arange(4), 3))
    assert len(set(batch.tolist())) == 12
    np.testing.assert_array_equal(batch, index.sample(3, rng(7, 1, 42)))
    assert not np.array_equal(batch, index.sample(3, rng(7, 1, 43)))


def test_short_class_is_named_with_its_count():
    index = ClassIndex(np.array([0, 0, 0, 1, 2, 2]), 3, source='tiny')
    with pytest.raises(TfkipError, match='tiny has only 1 of class 1 \\(classes short: \\[1\\]\\)'):
        index.check_per_class(2, '--ipc')
