"""Regularized ZCA whitening, the preprocessing of the KIP papers for colour images.

With C the population covariance of the flattened (standardized) train images, d their
dimension and C = U diag(S) U^T its eigendecomposition,

    W = U diag(S + lambda * tr(C) / d)^(-1/2) U^T,      x_white = (x - mean) W

(Nguyen et al. 2021, Sec. 3; lambda = 0.1 for CIFAR-10, lambda = 0 is plain ZCA). The
ridge is relative to the mean eigenvalue tr(C)/d, so lambda does not depend on the
pixel scale. W is symmetric, so rows and columns may be used interchangeably.
"""
import dataclasses

import numpy as np

from tfkip.errors import TfkipError
from tfkip.preprocess import moments


@dataclasses.dataclass(frozen=True)
class ZcaStats:
    """mean: [d] float64; whitening: [d, d] float64 (W above); eigenvalues: [d] float64 (S)."""
    mean: np.ndarray
    whitening: np.ndarray
    eigenvalues: np.ndarray
    reg: float


def zca_from_moments(m, reg):
    """Moments (full covariance) of flattened train images -> ZcaStats with ridge `reg`."""
    cov = moments.covariance(m)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    eigenvalues = np.maximum(eigenvalues, 0.0)  # eigh of a PSD matrix can dip below 0 by roundoff
    ridged = eigenvalues + reg * np.trace(cov) / len(cov)
    if ridged.min() <= 1e-12 * max(ridged.max(), 1e-300):
        rank = int(np.sum(eigenvalues > 1e-12 * eigenvalues.max()))
        raise TfkipError(f'the train covariance is singular (rank {rank} of {len(cov)}), so '
                         f'ZCA with zca_reg={reg} is undefined; use zca_reg > 0 or turn ZCA off')
    whitening = (eigenvectors * ridged ** -0.5) @ eigenvectors.T
    return ZcaStats(m.mean, whitening, eigenvalues, float(reg))


def whiten(x, zca):
    """x: [N, d] float32 -> (x - mean) W, [N, d] float32."""
    return ((x - zca.mean.astype(np.float32)) @ zca.whitening.astype(np.float32))
