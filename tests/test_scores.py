"""DD-Ranking's robust scores: their definitions, at the points that pin them down."""
import math

import pytest

from tfkip.transfer.scores import augmentation_robust, label_robust


def test_a_set_no_better_than_random_and_no_worse_than_full_data_scores_x_0():
    s = label_robust(full=0.85, hard=0.85, distilled=0.30, random=0.30)
    assert (s.hlr, s.ior) == (0.0, 0.0)
    assert s.score == pytest.approx((1 - math.exp(-1)) / (math.e - math.exp(-1)))  # x = 0


def test_the_extremes_are_zero_and_one():
    assert label_robust(full=1.0, hard=0.0, distilled=0.0, random=1.0).score == pytest.approx(0.0)
    assert label_robust(full=0.0, hard=1.0, distilled=1.0, random=0.0).score == pytest.approx(1.0)
    assert augmentation_robust(1.0, 0.0, 1.0, 0.0).score == pytest.approx(1.0)
    assert augmentation_robust(0.0, 1.0, 0.0, 1.0).score == pytest.approx(0.0)


def test_the_weights_and_the_differences():
    s = label_robust(full=0.80, hard=0.40, distilled=0.50, random=0.20, lam=0.25)
    assert (s.hlr, s.ior) == pytest.approx((0.40, 0.30))
    x = 0.25 * 0.30 - 0.75 * 0.40
    assert s.score == pytest.approx((math.exp(x) - math.exp(-1)) / (math.e - math.exp(-1)))
    a = augmentation_robust(0.50, 0.20, 0.35, 0.25, lam=0.5)
    assert (a.with_aug, a.without_aug) == pytest.approx((0.30, 0.10))
    assert a.score == pytest.approx((math.exp(0.2) - math.exp(-1)) / (math.e - math.exp(-1)))
