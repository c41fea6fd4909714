"""Exact infinite-width ConvNet kernels (NNGP and NTK) in plain JAX, fast.

The same kernels as neural-tangents' `stax` for `architectures.ConvNet` (3x3 SAME
convolutions with ReLU, 2x2 average pooling, Flatten or global-average-pool readout,
NTK parameterization), computed from a smaller state.

neural-tangents carries, for every image pair, the covariance Sigma(p, p') between all
position pairs: an [H, W, H, W] tensor, 1M entries per pair at 32x32. But a Flatten
readout reads only its diagonal p' = p, a 3x3 convolution and the ReLU keep the offset
d = p' - p (the convolution shifts p and p' together), and a 2x2 average pool builds
offset e of its output from offsets 2e-1 .. 2e+1 of its input. So, going back from the
readout, a layer needs only offsets |d| <= r, with r = 0 at a Flatten readout and
r_in = 2 r_out + 1 through each pool. We store the band

    S[d_h, d_w, h, w] = Sigma((h, w), (h + d_h, w + d_w)),   |d_h| <= r_h, |d_w| <= r_w,

zero where p + d falls outside the image: [2r+1, 2r+1, H, W] instead of [H, W, H, W]
(15x15 instead of 32x32 offsets per position for depth 3 on 32x32; 7x7 instead of
28x28 for depth 2 on 28x28). A global-average-pool readout needs every offset
(r = size - 1). In this state each layer is a handful of fused elementwise passes:

    input       S0[d, p] = <x1[p], x2[p + d]> / C
    conv        S'[d, p] = W_std^2 / 9 * sum_{|delta| <= 1} S[d, p + delta] + b_std^2
                T'[d, p] = W_std^2 / 9 * sum_{|delta| <= 1} T[d, p + delta] + S'[d, p]
    ReLU        with q = v1[p] v2[p + d] (the pair's variances) and
                theta = atan2(sqrt(q - S^2), S):
                S' = sqrt(q - S^2) / (2 pi) + (1/2 - theta / (2 pi)) S,
                T' = (1/2 - theta / (2 pi)) T                      (Cho & Saul 2009)
    2x2 pool    S'[e, q] = 1/4 sum_{a, b in {0, 1}} S[2e + b - a, 2q + a]   (per axis)
    readout     Flatten: mean_p S[0, p];  global pool: sum_{d, p} S[d, p] / (H W)^2,
                then Dense: W_std^2 * that + b_std^2 (and + W_std^2 * readout(T) for NTK)

S is the NNGP and T the NTK part. The variances v1, v2 at each ReLU come from running
the same layers on the pairs (x, x) first, which costs N1 + N2 pairs against N1 * N2.

Everything is differentiable with JAX, and `kernel.make_kernel_fn` processes pairs in
blocks whose size is chosen from the memory budget (`pairs_per_block`). The ReLU map has a
hand-written VJP (finite for identical images; it keeps only its inputs and recomputes the
map backwards, with the pair's variances as two factors, so no band of derivatives or of
variance products is stored), and three linear steps have hand-written adjoints, exact and
tested against autodiff's: the pool (a repeat, a shift and an interleave instead of 16
strided scatters), the shift (the skew run backwards) and the input covariance (the sums
over the pair axes added slice by slice): autodiff's versions of these made the gradient
~9x the forward pass on XLA:CPU.
"""
import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from tfkip.kernels.architectures import READOUTS
from tfkip.kernels.blocks import blocked, to_blocks
from tfkip.kernels.broadcast import like, unbroadcast
from tfkip.kernels.relu import relu_map


@dataclasses.dataclass(frozen=True)
class Plan:
    """Static layout of one ConvNet kernel computation.

    Attributes:
      sizes: spatial size (H, W) at the input of each conv block, then after the
        last pool: depth + 1 entries.
      radii: offsets kept (r_h, r_w) at the input of each block, then at the readout.
      prepend_conv: one extra Conv + ReLU at the input resolution first.
      readout: 'flatten' or 'gap'.
    """
    sizes: tuple
    radii: tuple
    prepend_conv: bool
    readout: str

    @classmethod
    def make(cls, image_hw, depth, *, prepend_conv=False, readout='flatten'):
        if readout not in READOUTS:
            raise ValueError(f'readout must be one of {READOUTS}, got {readout!r}')
        sizes = [tuple(image_hw)]
        for _ in range(depth):
            sizes.append(tuple(s // 2 for s in sizes[-1]))
        if min(sizes[-1]) < 1:
            raise ValueError(f'{depth} 2x2 pools leave nothing of a {tuple(image_hw)} image')
        radius = (0, 0) if readout == 'flatten' else tuple(s - 1 for s in sizes[-1])
        radii = [radius]
        for size in reversed(sizes[:-1]):
            radius = tuple(min(2 * r + 1, s - 1) for r, s in zip(radius, size))
            radii.insert(0, radius)
        return cls(tuple(sizes), tuple(radii), prepend_conv, readout)

    def entries_per_pair(self):
        """Floats in the largest band of one image pair (the memory unit)."""
        return max((2 * rh + 1) * (2 * rw + 1) * h * w
                   for (h, w), (rh, rw) in zip(self.sizes, self.radii))


# Live band-sized arrays per pair in a block, forward and backward (s, t, their
# cotangents, the ReLU's residuals and temporaries): an estimate, with headroom.
_ARRAYS_PER_PAIR = 12
# On CPU the kernel is bound by memory traffic and blocks beyond the caches run slower
# (32x32, depth 3, 2-core EPYC: 2x2 to 4x4 pairs fastest, 8x8 ~1.4x slower), so the
# CPU budget is small. On an accelerator blocks of 64 to 1,024 pairs step within 20% of each
# other, but XLA's GPU autotuner compiles larger ones for minutes (32x32, depth 3, H200: 256
# pairs 72 s and fastest, 1,024 and the 2,545 a quarter of its memory held not done in 80 s;
# benchmarks/results/kernel_blocks_nvidia_h200.md), so blocks there stop at 256 pairs or a
# quarter of the memory, whichever is less.
_CPU_BUDGET_BYTES = 256 * 2 ** 20
_ACCELERATOR_FRACTION = 0.25
_ACCELERATOR_MAX_PAIRS = 256


def pairs_per_block(plan, itemsize, device=None):
    """Image pairs per kernel block whose working set fits the memory budget (on an
    accelerator, at most `_ACCELERATOR_MAX_PAIRS`).

    Args:
      plan: a Plan.
      itemsize: bytes per float (4 for float32).
      device: a jax Device; None for the default one.

    Returns:
      int >= 1.
    """
    device = device or jax.devices()[0]
    stats = device.memory_stats() if device.platform != 'cpu' else None
    on_accelerator = bool(stats and 'bytes_limit' in stats)
    budget = (stats['bytes_limit'] * _ACCELERATOR_FRACTION if on_accelerator
              else _CPU_BUDGET_BYTES)
    pairs = int(budget // (plan.entries_per_pair() * itemsize * _ARRAYS_PER_PAIR))
    return max(1, min(pairs, _ACCELERATOR_MAX_PAIRS) if on_accelerator else pairs)


def _valid(radius, size):
    """[2r+1, size] float: 1 where 0 <= p + d < size."""
    p = np.arange(size)[None, :] + np.arange(-radius, radius + 1)[:, None]
    return ((p >= 0) & (p < size)).astype(np.float32)


def _mask(radii, size):
    """[Dh, Dw, H, W] float: 1 where p + d lies inside the image."""
    mh, mw = _valid(radii[0], size[0]), _valid(radii[1], size[1])
    return mh[:, None, :, None] * mw[None, :, None, :]


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _windows(v, radius, axis):
    """All shifts of v along `axis`: a new axis before it, entry [d, p] = v[p + d - radius].

    v: [..., L, ...] -> [..., 2r+1, L, ...], 0 where p + d - r falls outside. Built from
    padding, a broadcast and reshapes (row d of a flat tile starts d entries further
    on), not from 2r+1 slices or a gather: a few fused ops, fast to compile, and
    transposed into equally cheap ones for the gradient (a gather's is a slow scatter).
    """
    length, count = v.shape[axis], 2 * radius + 1
    pads = [(0, 0)] * v.ndim
    pads[axis] = (radius, radius)
    v = jnp.pad(v, pads)
    padded = v.shape[axis]
    v = jnp.broadcast_to(jnp.expand_dims(v, axis), v.shape[:axis] + (count,) + v.shape[axis:])
    v = v.reshape(v.shape[:axis] + (count * padded,) + v.shape[axis + 2:])
    pads[axis] = (0, count)
    v = jnp.pad(v, pads)
    v = v.reshape(v.shape[:axis] + (count, padded + 1) + v.shape[axis + 1:])
    return jax.lax.slice_in_dim(v, 0, length, axis=axis + 1)


def _windows_fwd(v, radius, axis):
    return _windows(v, radius, axis), None


def _windows_bwd(radius, axis, _, g):
    # The same skew run backwards: row d of the cotangent lands d entries further on in a
    # flat tile, and the rows are added slice by slice (autodiff's transpose reduces over
    # the row axis instead, ~5x the forward pass on XLA:CPU).
    count = 2 * radius + 1
    g = jnp.moveaxis(g, (axis, axis + 1), (-2, -1))  # [..., count, L]
    length = g.shape[-1]
    padded = length + 2 * radius
    g = jnp.pad(g, [(0, 0)] * (g.ndim - 1) + [(0, padded + 1 - length)])
    g = g.reshape(g.shape[:-2] + (count * (padded + 1),))[..., :count * padded]
    g = g.reshape(g.shape[:-1] + (count, padded))
    total = sum(g[..., d, :] for d in range(count))  # [..., L + 2r]
    return (jnp.moveaxis(total[..., radius:radius + length], -1, axis),)


_windows.defvjp(_windows_fwd, _windows_bwd)


def _shift(v, radii):
    """v: [N, H, W, ...] -> [N, Dh, Dw, H, W, ...]: entry v[n, p + d], 0 where p + d is outside."""
    v = _windows(_windows(v, radii[1], 2), radii[0], 1)  # [N, Dh, H, Dw, W, ...]
    return jnp.swapaxes(v, 2, 3)


def _box3(a):
    """sum_{|delta| <= 1} a[..., p + delta] over the last two axes, zero outside.

    Two 1-D reduce-windows: a single 3x3 one runs ~4x slower on XLA:CPU, and 9 added
    slices let XLA fuse the (expensive) producer into every slice in the backward pass.
    """
    def box(a, window):
        window = (1,) * (a.ndim - 2) + window
        return jax.lax.reduce_window(a, 0., jax.lax.add, window, (1,) * a.ndim, 'SAME')
    return box(box(a, (1, 3)), (3, 1))


def _conv(s, t, mask, w_var, b_var):
    """3x3 SAME convolution of bands s, t: [..., Dh, Dw, H, W]."""
    s = (w_var / 9 * _box3(s) + b_var) * mask
    if t is not None:
        t = w_var / 9 * _box3(t) * mask + s
    return s, t


def _relu(s, t, q1, q2):
    """ReLU of bands s, t given the pair's variances q1 = v1[p], q2 = v2[p + d]."""
    s, slope = relu_map(s, q1, q2)
    return s, None if t is None else t * slope


def _pool(s, t, radii_in, radii_out, size_out):
    """2x2 average pool, stride 2, VALID: bands at radii_in -> bands at radii_out."""
    return (_pool_band(s, radii_in, radii_out, size_out),
            None if t is None else _pool_band(t, radii_in, radii_out, size_out))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def _pool_band(a, radii_in, radii_out, size_out):
    """One band's 2x2 pool: a: [..., Dh_in, Dw_in, H, W] -> [..., Dh_out, Dw_out, H/2, W/2].

    Per axis, output offset e at position q averages input offsets c + 2e + b - a at
    positions 2q + a (a, b in {0, 1}, c = r_in - 2 r_out): 16 strided slices."""
    total = 0.
    for ah, bh, aw, bw in np.ndindex(2, 2, 2, 2):
        dh = radii_in[0] + bh - ah - 2 * radii_out[0]
        dw = radii_in[1] + bw - aw - 2 * radii_out[1]
        total = total + a[..., dh:dh + 4 * radii_out[0] + 1:2, dw:dw + 4 * radii_out[1] + 1:2,
                          ah:ah + 2 * size_out[0]:2, aw:aw + 2 * size_out[1]:2]
    return total / 16 * _mask(radii_out, size_out)


def _pool_band_fwd(a, radii_in, radii_out, size_out):
    return _pool_band(a, radii_in, radii_out, size_out), a.shape[-2:]


def _pool_band_bwd(radii_in, radii_out, size_out, size_in, g):
    # The transpose of 16 strided slices is 16 full-size scatters (10x the forward pass on
    # XLA:CPU). Each input entry receives exactly one output entry per axis (b is fixed by
    # the parity of its offset), so the adjoint is a repeat, a shift and an interleave.
    g = g * _mask(radii_out, size_out) / 16
    for axis in (0, 1):
        g = _unpool_axis(g, axis, radii_in[axis] - 2 * radii_out[axis],
                         2 * radii_in[axis] + 1, size_in[axis])
    return (g,)


_pool_band.defvjp(_pool_band_fwd, _pool_band_bwd)


def _unpool_axis(g, axis, c, d_in, l_in):
    """The adjoint of one axis of `_pool_band` (without the 1/4): axis 0 for (Dh, H),
    1 for (Dw, W) of g: [..., Dh, Dw, H, W]. Input offset c - a + 2e + b at position
    2q + a gets output (e, q) for both b."""
    d_axis, p_axis = g.ndim - 4 + axis, g.ndim - 2 + axis
    g = jnp.moveaxis(g, (d_axis, p_axis), (-2, -1))  # [..., D_out, L_out]
    up = jnp.repeat(g, 2, axis=-2)  # offset 2e + b
    lead = [(0, 0)] * (g.ndim - 2)
    parts = [jnp.pad(up, lead + [(c - a, d_in - c + a - up.shape[-2]), (0, 0)])
             for a in (0, 1)]
    out = jnp.stack(parts, axis=-1).reshape(up.shape[:-2] + (d_in, 2 * g.shape[-1]))
    out = jnp.pad(out, lead + [(0, 0), (0, l_in - out.shape[-1])])
    return jnp.moveaxis(out, (-2, -1), (d_axis, p_axis))


@jax.custom_vjp
def _input(x1, x2_shifted):
    """The input covariance band <x1[p], x2[p + d]> / C.

    Args:
      x1: [..., 1, 1, H, W, C]; x2_shifted: [..., Dh, Dw, H, W, C] from `_shift` (the
        leading axes broadcast against each other).

    Returns:
      [..., Dh, Dw, H, W].
    """
    # The channel sum is written out: XLA:CPU (jaxlib 0.10.2) crashes compiling the
    # gradient of the same broadcast multiply-and-mean (`(x1 * x2).mean(-1)`).
    channels = x1.shape[-1]
    return sum(x1[..., c] * x2_shifted[..., c] for c in range(channels)) / channels


def _input_fwd(x1, x2_shifted):
    return _input(x1, x2_shifted), (x1, x2_shifted)


def _input_bwd(residuals, g):
    # Autodiff's cotangents are built channel-minor, entry by entry (~90x the forward pass
    # on XLA:CPU); per channel, reduced to each input's shape, then stacked once is ~10x
    # less.
    x1, x2_shifted = residuals
    channels = x1.shape[-1]

    def cotangent(other, shape):
        return jnp.stack([unbroadcast(g * other[..., c], shape[:-1])
                          for c in range(channels)], axis=-1) / channels
    return (like(cotangent(x2_shifted, x1.shape), x1),
            like(cotangent(x1, x2_shifted.shape), x2_shifted))


_input.defvjp(_input_fwd, _input_bwd)


def _propagate(s, plan, w_var, b_var, variances=None, ntk=False):
    """Runs the ConvNet on the input band s: [..., Dh, Dw, H, W].

    Args:
      variances: per ReLU, (v1: [N1, H, W], v2 shifted: [N2, Dh, Dw, H, W]) for pairs
        laid out as [N1, N2, ...]; None for pairs (x, x) laid out as [N, ...], whose
        variances are the band's own d = 0 entries.
      ntk: also carry the NTK band.

    Returns:
      (readouts (NNGP, NTK or None) before the Dense layer, [...]), and per ReLU the
      variances seen (v: [N, H, W], v shifted: [N, Dh, Dw, H, W]) when `variances` is None.
    """
    blocks = [(0, False)] * plan.prepend_conv + [(k, True) for k in range(len(plan.sizes) - 1)]
    seen, t = [], None
    for i, (k, pool) in enumerate(blocks):
        size, radii = plan.sizes[k], plan.radii[k]
        s, t = _conv(s, t, _mask(radii, size), w_var, b_var)
        if ntk and t is None:
            t = s  # the input has no parameters: the first layer's NTK is its NNGP
        if variances is None:
            v = s[..., radii[0], radii[1], :, :]
            v_shifted = _shift(v, radii)
            seen.append((v, v_shifted))
            q1, q2 = v[:, None, None], v_shifted
        else:
            v1, v2_shifted = variances[i]
            q1, q2 = v1[:, None, None, None], v2_shifted[None]
        s, t = _relu(s, t, q1, q2)
        if pool:
            s, t = _pool(s, t, radii, plan.radii[k + 1], plan.sizes[k + 1])
    return (_readout(s, plan), None if t is None else _readout(t, plan)), tuple(seen)


def _readout(a, plan):
    (rh, rw), (h, w) = plan.radii[-1], plan.sizes[-1]
    if plan.readout == 'flatten':
        return a[..., rh, rw, :, :].mean((-2, -1))
    return a.sum((-4, -3, -2, -1)) / (h * w) ** 2


def _self_pairs(x, plan, w_std, b_std):
    """Runs the pairs (x, x): (x shifted, per ReLU (v, v shifted) as `_propagate` sees them)."""
    x_shifted = _shift(x, plan.radii[0])
    s = _input(x[:, None, None], x_shifted)
    return x_shifted, _propagate(s, plan, w_std ** 2, b_std ** 2)[1]


def image_variances(x, plan, w_std, b_std):
    """Each image's variance map at every ReLU, from the pairs (x, x).

    Args:
      x: [N, H, W, C] float.
      plan: a Plan for (H, W).
      w_std, b_std: [] float.

    Returns:
      A tuple with one [N, H_k, W_k] array per ReLU: `pair_kernel`'s v1.
    """
    return tuple(v for v, _ in _self_pairs(x, plan, w_std, b_std)[1])


def shifted_images(x, plan, w_std, b_std):
    """x and its variance maps shifted to every offset of the band: `pair_kernel`'s x2, v2.

    Kept apart from `pair_kernel` so that a blocked caller shifts each block of x2
    once, outside its loop over x1 (fused into the pair loop instead, the shifts'
    strided reads dominated the NNGP's time).

    Args:
      x: [N, H, W, C] float.
      plan: a Plan for (H, W).
      w_std, b_std: [] float.

    Returns:
      (x shifted: [N, Dh, Dw, H, W, C], a tuple with one [N, Dh, Dw, H_k, W_k] array
      per ReLU).
    """
    x_shifted, seen = _self_pairs(x, plan, w_std, b_std)
    return x_shifted, tuple(v_shifted for _, v_shifted in seen)


def pair_kernel(x1, v1, x2_shifted, v2_shifted, plan, w_std, b_std, kernel='ntk'):
    """The ConvNet's NNGP or NTK between two sets of images.

    Args:
      x1: [N1, H, W, C] float; v1: `image_variances(x1, ...)`.
      x2_shifted, v2_shifted: `shifted_images(x2, ...)` for x2: [N2, H, W, C].
      plan: a Plan for (H, W).
      w_std, b_std: [] float, weight and bias standard deviations.
      kernel: 'ntk' or 'nngp'.

    Returns:
      [N1, N2] kernel of x1's dtype.
    """
    w_var, b_var = w_std ** 2, b_std ** 2
    s = _input(x1[:, None, None, None], x2_shifted[None])
    (s, t), _ = _propagate(s, plan, w_var, b_var, tuple(zip(v1, v2_shifted)), kernel == 'ntk')
    s = w_var * s + b_var
    return s if t is None else w_var * t + s


def convnet_kernel(x1, x2, plan, w_std, b_std, kernel='ntk'):
    """`pair_kernel` of x1 and x2, unblocked."""
    return pair_kernel(x1, image_variances(x1, plan, w_std, b_std),
                       *shifted_images(x2, plan, w_std, b_std), plan, w_std, b_std, kernel)


def make_kernel_fn(config):
    """The kernel table's entry point: `kernel_fn(x1, x2, hparams) -> [N1, N2]` for a
    convnet KernelConfig, blocked. x1's variance maps first (in chunks), then for each
    block of x2 its shifted maps, then the pairs in blocks."""
    def kernel_fn(x1, x2, hparams):
        plan = Plan.make(x1.shape[1:3], config.depth, prepend_conv=config.prepend_conv,
                         readout=config.readout)
        max_pairs = (config.block_size ** 2 if config.block_size
                     else pairs_per_block(plan, x1.dtype.itemsize))
        w_std, b_std = hparams['W_std'], hparams['b_std']
        chunks = to_blocks(x1, min(x1.shape[0], max_pairs))
        per_chunk = jax.lax.map(lambda c: image_variances(c, plan, w_std, b_std), chunks)
        v1 = tuple(v.reshape((-1,) + v.shape[2:])[:x1.shape[0]] for v in per_chunk)
        shift = lambda b, h: shifted_images(b, plan, h['W_std'], h['b_std'])
        block = lambda a, b, h: pair_kernel(a[0], a[1], b[0], b[1], plan, h['W_std'],
                                            h['b_std'], config.kernel)
        return blocked(block, (x1, v1), x2, hparams, max_pairs, prepare2=shift)

    return kernel_fn
