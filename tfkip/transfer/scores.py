"""DD-Ranking's robust scores (Li et al. 2025, NUS-HPC-AI-Lab/DD-Ranking), from accuracies
measured under one protocol. Accuracies are fractions in [0, 1]; each score maps a weighted
difference x in [-1, 1] to [0, 1] by (e^x - e^-1) / (e - e^-1): x = 0 (no better than the
references) scores 0.27, x = 1 scores 1.

- Label-Robust Score: HLR (hard-label recovery) = full - hard, the gap of the set with its
  labels' argmax to the full training set; IOR (improvement over random) = set - random,
  each with its own labels; x = lam * IOR - (1 - lam) * HLR.
- Augmentation-Robust Score: x = lam * (set - random, with augmentation) + (1 - lam) *
  (set - random, without).

DD-Ranking's code chooses each network's learning rate by its test accuracy; tfkip's callers
choose on a validation split, never on test.
"""
import dataclasses
import math


def _squash(x):
    return (math.exp(x) - math.exp(-1)) / (math.e - math.exp(-1))


@dataclasses.dataclass(frozen=True)
class LabelRobust:
    """hlr, ior: the two differences; score: the Label-Robust Score."""
    hlr: float
    ior: float
    score: float


def label_robust(full, hard, distilled, random, lam=0.5):
    """DD-Ranking's LRS.

    Args:
      full: accuracy of networks trained on the whole training split (hard labels).
      hard: of networks trained on the set with its labels' argmax.
      distilled: on the set with its own labels (soft, or the same as `hard`).
      random: on the random real subset of the set's size (its labels).
      lam: the weight of IOR against HLR (DD-Ranking's default 0.5).
    """
    hlr, ior = full - hard, distilled - random
    return LabelRobust(hlr, ior, _squash(lam * ior - (1 - lam) * hlr))


@dataclasses.dataclass(frozen=True)
class AugmentationRobust:
    """with_aug, without_aug: set - random under each; score: the Augmentation-Robust Score."""
    with_aug: float
    without_aug: float
    score: float


def augmentation_robust(distilled_aug, random_aug, distilled_plain, random_plain, lam=0.5):
    """DD-Ranking's ARS from the set's and the random subset's accuracies with augmentation
    and without (`plain`); `lam` weighs the first (DD-Ranking's default 0.5)."""
    with_aug, without_aug = distilled_aug - random_aug, distilled_plain - random_plain
    return AugmentationRobust(with_aug, without_aug,
                              _squash(lam * with_aug + (1 - lam) * without_aug))
