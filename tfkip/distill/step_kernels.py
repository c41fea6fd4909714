"""The two kernel matrices of one distillation step, exact (KIP) or random-feature (RFAD).

A step-kernels function is

    kernels(x_s: [S, H, W, C], x_t: [T, H, W, C], hparams, key, axis_name=None)
        -> (K_ss: [S, S], K_ts: [T, S])

`exact(kernel_fn)` evaluates an exact kernel (`tfkip.kernels.make_kernel_fn`) and ignores
`key`; `random_features(feature_fn)` takes inner products of random features
(`tfkip.distill.methods.rfad.features`) of networks drawn from `key`, the same networks for
both matrices, so each image passes through them once: O(S + T) network passes against
the exact kernel's O(S * (S + T)) image pairs. Inside `shard_map` over `axis_name`, the
support-side work (K_ss's rows, or the support features) is split over the devices and
all-gathered (`distributed.split_rows`); x_t holds the device's own target rows.
"""
from tfkip.distill.distributed import split_rows


def exact(kernel_fn):
    """Step kernels from `kernel_fn(x1, x2, hparams) -> [N1, N2]`."""
    def kernels(x_s, x_t, hparams, key=None, axis_name=None):
        del key  # an exact kernel draws nothing
        k_ss = split_rows(lambda rows: kernel_fn(rows, x_s, hparams), x_s, axis_name)
        return k_ss, kernel_fn(x_t, x_s, hparams)
    return kernels


def random_features(feature_fn):
    """Step kernels from `feature_fn(x, key, hparams) -> [N, F]` (K = phi phi^T): RFAD's
    random networks drawn from `key`, or FRePo's trained network (which ignores it)."""
    def kernels(x_s, x_t, hparams, key, axis_name=None):
        phi_s = split_rows(lambda rows: feature_fn(rows, key, hparams), x_s, axis_name)
        phi_t = feature_fn(x_t, key, hparams)
        return phi_s @ phi_s.T, phi_t @ phi_s.T
    return kernels
