"""Adjoints of broadcasting, for the fast kernels' hand-written VJPs.

A binary op between a per-image array and a per-pair one broadcasts the first over the
pair axes; its adjoint sums the cotangent back. Autodiff does that with a reduction that
XLA:CPU runs slowly over a leading axis, and inside `shard_map` it also sums over the mesh
axes the primal is replicated along: `unbroadcast` and `like` are those two sums, for
`relu.relu_map` and `convnet_fast`'s input covariance.
"""
import jax

# Leading axes up to this size are added slice by slice (see `unbroadcast`).
_UNROLLED_SUM = 16


def unbroadcast(a, shape):
    """Sums `a` over the axes that broadcasting stretched from `shape`.

    The image-pair axes lead (a is [N1, N2, ...]); XLA:CPU reduces over a leading axis
    ~50x slower than it adds the same slices, so small leading axes are added slice by
    slice (block sizes there are a handful of images; accelerators take larger blocks).

    Args:
      a: [...] float, a cotangent of the broadcast result.
      shape: the shape before broadcasting (a suffix of a's rank, 1 where stretched).

    Returns:
      a summed to `shape`.
    """
    lead = a.ndim - len(shape)
    axes = [i for i in range(a.ndim) if i < lead or (shape[i - lead] == 1 and a.shape[i] != 1)]
    for axis in reversed(axes):
        n = a.shape[axis]
        a = (sum(jax.lax.index_in_dim(a, i, axis, keepdims=False) for i in range(n))
             if n <= _UNROLLED_SUM else a.sum(axis))
    return a.reshape(shape)


def like(cotangent, primal):
    """`cotangent` summed over the `shard_map` axes it varies along and `primal` does not
    (e.g. the support's, replicated, when the targets are split): what autodiff's transpose
    of the implicit broadcast does for a binary op's hand-written adjoint."""
    extra = tuple(sorted(_varying_axes(cotangent) - _varying_axes(primal)))
    return jax.lax.psum(cotangent, extra) if extra else cotangent


def _varying_axes(x):
    """The mesh axes a value varies along inside `shard_map` (none outside it)."""
    aval = jax.typeof(x)
    mat = getattr(aval, 'manual_axis_type', None)  # JAX 0.10; `vma` in others
    return frozenset(getattr(mat, 'varying', None) or getattr(aval, 'vma', None) or ())
