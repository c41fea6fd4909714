"""The preprocessing of sets other projects published, re-derived from their code as a
`PreprocessStats`, so that `preprocess.apply`, `ZCAWhitening` and `tfkip transfer` map real
images into such a set's space exactly as they do for tfkip's own sets.

Each `Recipe` is fitted on the raw train split of the source dataset (pixel values as TFDS
gives them, 0..255) in TFDS order:

- `KIP_STANDARD`, `KIP_ZCA`: the KIP authors' `nn_training.ipynb` (google-research/kip, the
  notebook that trains networks on their published sets): per-channel standardization with
  the mean and population std of every train pixel; for the `zca` sets then each image
  centred on its own mean and scaled to unit norm, and regularized ZCA from the uncentred
  second moment M of the first N - 5000 train images (the notebook holds the last 5000 out
  for validation): W = U (S + 0.1 tr(M)/d)^(-1/2) U^T, with the directions past the number of
  images left unscaled when there are fewer images than dimensions (its "rank control").
- `RFAD_ZCA`: Loo et al.'s RFAD (`data.py`, CIFAR-10): per-channel standardization with the
  unbiased std, then the same regularized ZCA from the uncentred second moment of all train
  images, no per-image normalization and no rank control.

In tfkip's terms: standardize, `per_image_norm` for the KIP ZCA recipe (tfkip scales images to
norm sqrt(d) rather than 1, so W is stored divided by sqrt(d)), and ZCA with a zero mean.
"""
import dataclasses

import numpy as np

from tfkip.errors import TfkipError
from tfkip.preprocess.standardize import ChannelStats
from tfkip.preprocess.transform import PreprocessConfig, PreprocessStats
from tfkip.preprocess.zca import ZcaStats


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a project preprocessed its data (see the module docstring).

    Attributes:
      title: the project's code it follows, for provenance.
      zca: regularized ZCA after standardization.
      std_ddof: 0 for numpy's population std, 1 for torch's unbiased one.
      per_image_norm: centre each image and scale it to unit norm before ZCA.
      holdout: the last `holdout` train images are left out of the ZCA fit.
      rank_control: leave the directions past the number of fitted images unscaled.
      zca_reg: the ridge, relative to the mean eigenvalue of the second moment.
    """
    title: str
    zca: bool
    std_ddof: int = 0
    per_image_norm: bool = False
    holdout: int = 0
    rank_control: bool = False
    zca_reg: float = 0.1


KIP_STANDARD = Recipe("the KIP authors' nn_training.ipynb, standard", zca=False)
KIP_ZCA = Recipe("the KIP authors' nn_training.ipynb, zca_normalize", zca=True,
                 per_image_norm=True, holdout=5000, rank_control=True)
RFAD_ZCA = Recipe("RFAD's data.py (Loo et al.)", zca=True, std_ddof=1)


def fit(recipe, images, class_names, source):
    """The recipe's statistics of a train split.

    Args:
      recipe: a `Recipe`.
      images: [N, H, W, C] raw train images (uint8 or float), in the source's order.
      class_names: the dataset's class names.
      source: the dataset's name, for provenance (e.g. 'tfds:cifar10').

    Returns:
      PreprocessStats (float64 statistics) whose `apply` gives the project's preprocessing.
    """
    x = np.asarray(images, np.float64)
    mean = x.mean(axis=(0, 1, 2))
    channel = ChannelStats(mean, x.std(axis=(0, 1, 2), ddof=recipe.std_ddof))
    config = PreprocessConfig(standardize=True, per_image_norm=recipe.per_image_norm,
                              zca=recipe.zca, zca_reg=recipe.zca_reg)
    zca = None
    if recipe.zca:
        fitted = x[:len(x) - recipe.holdout]
        if not len(fitted):
            raise TfkipError(f'{source}: {len(x)} train images, but {recipe.title} fits ZCA on '
                             f'all but the last {recipe.holdout}')
        flat = ((fitted - mean) / channel.std).reshape(len(fitted), -1)
        if recipe.per_image_norm:
            flat -= flat.mean(axis=1, keepdims=True)
            flat /= np.linalg.norm(flat, axis=1, keepdims=True)
        n, d = flat.shape
        second = flat.T @ flat / n
        ridge = recipe.zca_reg * np.trace(second) / d
        eigenvalues, vectors = np.linalg.eigh(second)
        eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]  # largest first, as SVD
        scale = (eigenvalues + ridge) ** -0.5
        if recipe.rank_control and n < d:
            scale[n:] = 1.0
        whitening = (vectors * scale) @ vectors.T
        if recipe.per_image_norm:
            whitening /= np.sqrt(d)  # tfkip's per-image norm is sqrt(d), the recipe's 1
        zca = ZcaStats(np.zeros(d), whitening, eigenvalues, recipe.zca_reg)
    return PreprocessStats(config, tuple(class_names), tuple(x.shape[1:]),
                           f'{source} ({recipe.title})', len(x), channel, zca)
