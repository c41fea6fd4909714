"""Count, mean and centered second moments of row vectors, merged exactly across shards.

A `Moments` summarises rows x_1..x_n in R^d as (n, mean, M2) with
M2 = sum_i (x_i - mean)(x_i - mean)^T (or only its diagonal). Two summaries merge with
the parallel update of Chan, Golub & LeVeque (1979):

    n = n_a + n_b,  delta = mean_b - mean_a,
    mean = mean_a + delta * n_b / n,
    M2 = M2_a + M2_b + delta delta^T * n_a * n_b / n

Each batch is centred on its own float64 mean before its squares are summed, so a large
common offset in the data costs no precision (unlike E[x^2] - E[x]^2 in float32). The merge
is exact in real arithmetic and so independent of how the rows were split or ordered.
"""
from typing import NamedTuple

import numpy as np


class Moments(NamedTuple):
    count: int  # number of rows
    mean: np.ndarray  # [d] float64
    m2: np.ndarray  # [d, d] float64 (full) or [d] float64 (diagonal only)


def empty(dim, *, full):
    """The summary of no rows (the identity of `merge`)."""
    return Moments(0, np.zeros(dim), np.zeros((dim, dim) if full else dim))


def of_rows(x, *, full):
    """x: [n, d] any real dtype -> Moments of its rows, computed in float64."""
    x = np.asarray(x, np.float64)
    if not len(x):
        return empty(x.shape[1], full=full)
    mean = x.mean(axis=0)
    centred = x - mean
    m2 = centred.T @ centred if full else np.einsum('nd,nd->d', centred, centred)
    return Moments(len(x), mean, m2)


def merge(a, b):
    """Moments of the union of the rows summarised by `a` and `b`."""
    if not a.count:
        return b
    if not b.count:
        return a
    count = a.count + b.count
    delta = b.mean - a.mean
    weight = a.count * b.count / count
    cross = np.outer(delta, delta) if a.m2.ndim == 2 else delta * delta
    return Moments(count, a.mean + delta * (b.count / count), a.m2 + b.m2 + weight * cross)


def covariance(m):
    """Population covariance M2 / n: [d, d] (or its diagonal [d]) float64."""
    if not m.count:
        raise ValueError('covariance of no rows')
    return m.m2 / m.count
