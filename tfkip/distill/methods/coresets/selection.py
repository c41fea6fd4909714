"""Coreset baselines: class-balanced subsets of the real images, chosen, not learned.

    indices = select('herding', images, labels, num_classes, per_class, seed)

- 'random': `per_class` images of each class drawn with `seed` (the same images KIP starts
  from and `tfkip run`'s random-subset baseline uses).
- 'herding' (Welling, ICML 2009; as in iCaRL): per class, greedily add the image that brings
  the mean of the chosen images closest to the class mean.
- 'kcenter' (k-center greedy, Sener & Savarese, ICLR 2018): per class, start from the image
  nearest the class mean, then repeatedly add the image farthest from everything chosen.

Distances are Euclidean in the feature space of the flattened, preprocessed images (the space
the distilled sets live in). Herding and k-center are deterministic; only 'random' uses the seed.
"""
import numpy as np

from tfkip.distill.sampling import SUPPORT_STREAM, ClassIndex, rng

CORESETS = ('random', 'herding', 'kcenter')


def herding(features, k):
    """features: [N, D] -> [k] int: the herding order's first k rows."""
    mean, total, chosen = features.mean(0), np.zeros(features.shape[1]), []
    for t in range(1, k + 1):
        gap = np.linalg.norm(t * mean - total - features, axis=1)
        gap[chosen] = np.inf
        chosen.append(int(np.argmin(gap)))
        total += features[chosen[-1]]
    return np.asarray(chosen)


def k_center(features, k):
    """features: [N, D] -> [k] int: k-center greedy from the row nearest the mean."""
    first = int(np.argmin(np.linalg.norm(features - features.mean(0), axis=1)))
    chosen, nearest = [first], np.linalg.norm(features - features[first], axis=1)
    for _ in range(k - 1):
        chosen.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, np.linalg.norm(features - features[chosen[-1]], axis=1))
    return np.asarray(chosen)


def select(method, images, labels, num_classes, per_class, seed=0, source='data'):
    """The coreset's rows, class by class.

    Args:
      method: one of `CORESETS`.
      images: [N, H, W, C] float32, preprocessed; labels: [N] int.
      num_classes: C; per_class: images per class.
      seed: seeds 'random'.
      source: names the data in errors.

    Returns:
      [num_classes * per_class] int indices into images, class 0's first.
    """
    index = ClassIndex(labels, num_classes, source)
    index.check_per_class(per_class, 'images_per_class')
    if method == 'random':
        return index.sample(per_class, rng(seed, SUPPORT_STREAM))
    pick = {'herding': herding, 'kcenter': k_center}[method]
    rows = []
    for members in index.by_class:
        features = images[members].reshape(len(members), -1).astype(np.float64)
        rows.append(members[pick(features, per_class)])
    return np.concatenate(rows)
