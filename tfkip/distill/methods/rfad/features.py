"""Random features of the FC and ConvNet families: RFAD's kernel approximation.

RFAD (Loo, Hasani, Amini, Rus, "Efficient Dataset Distillation using Random Feature
Approximation", NeurIPS 2022) replaces the exact NNGP kernel by inner products of

    phi(x) = [W_std * f_1(x), ..., W_std * f_M(x)] / sqrt(M * D)  ++  [b_std]

where f_m(x) is the last hidden layer, flattened (D values), of the m-th of M finite networks
drawn from `key` (the stax init/apply of `architectures.py` with `width` channels: weights
N(0, W_std^2 / fan_in), biases N(0, b_std^2)). phi(x1) . phi(x2) is a Monte-Carlo estimate of
the architecture's NNGP kernel, readout layer included (W_std^2 E[f(x1) . f(x2)] / D + b_std^2,
`make_kernel_fn(KernelConfig(..., kernel='nngp'))`), exact as M * width grows: a kernel
matrix over N images costs M network passes per image instead of a covariance per image pair.
"""
import jax
import jax.numpy as jnp

from tfkip.errors import TfkipError

def make_feature_fn(config, *, num_models, width):
    """Returns `feature_fn(x, key, hparams) -> phi(x)` for the architecture of `config`.

    Args:
      config: a KernelConfig (architecture, depth, prepend_conv, readout; its `kernel`
        must be 'nngp', the kernel the features approximate).
      num_models: M, the networks drawn per key (RFAD's `rf_models`).
      width: hidden channels (ConvNet) or units (FC) of each network (`rf_width`).

    Returns:
      A pure, jit-able function of x: [N, H, W, C] float32, key: a JAX PRNG key (the same
      key gives the same networks, so features of two batches share one kernel), and
      hparams {'W_std', 'b_std'}; it returns [N, M * D + 1] float32.
    """
    if config.kernel != 'nngp':
        raise TfkipError("random features approximate the NNGP kernel; use kernel='nngp' "
                         f"(--kernel nngp), not {config.kernel!r}")
    for name, value in (('num_models', num_models), ('width', width)):
        if not isinstance(value, int) or value < 1:
            raise TfkipError(f'{name} must be an integer >= 1, got {value!r}')

    def feature_fn(x, key, hparams):
        init_fn, apply_fn, _ = config.stax(num_classes=None, width=width,
                                           W_std=hparams['W_std'], b_std=hparams['b_std'])

        def one_network(network_key):
            _, params = init_fn(network_key, (-1,) + x.shape[1:])
            return apply_fn(params, x)  # [N, D]

        # The M networks unrolled: vmap turns their convolutions into one grouped
        # convolution, which XLA's CPU backend runs 5-10x slower, and lax.map's backward pass
        # (a scan over stacked residuals) costs 2x the unrolled one (measured on 2 cores).
        keys = jax.random.split(key, num_models)
        f = jnp.concatenate([one_network(keys[m]) for m in range(num_models)], axis=1)
        f = f * (hparams['W_std'] / jnp.sqrt(jnp.float32(f.shape[1])))  # [N, M * D]
        bias = jnp.broadcast_to(jnp.asarray(hparams['b_std'], f.dtype), (x.shape[0], 1))
        return jnp.concatenate([f, bias], axis=1)

    return feature_fn
