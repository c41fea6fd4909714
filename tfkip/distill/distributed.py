"""Running KIP over many devices and hosts with JAX's own distributed runtime.

One KIP step is split over a 1-D mesh of every device of every process (`target_mesh`):
the target batch's rows, and the rows of the support kernel, go to the devices; the loss
and gradients are combined with collectives (`over_targets`, `batch_mean`). Every process
draws the same batch indices (the samplers are seeded by step) and gathers and copies to
its devices only the rows they hold (`shard_targets`), so the per-step host work and
host-to-device traffic of a host fall with the number of hosts, and the trajectory is the
same whatever the device count. The choice this costs: every process keeps the training
set in host memory (sampling is global and class-balanced); a host does not read a
fixed shard of the data, which would tie the batches to the process count.

Multi-host: `initialize` starts `jax.distributed` when the environment says so:

    JAX_COORDINATOR_ADDRESS=host0:1234 JAX_NUM_PROCESSES=4 JAX_PROCESS_ID=<i> tfkip distill ...

on each GPU host (or `--coordinator-address/--num-processes/--process-id`), or, on a
TPU pod slice, SLURM or Open MPI, `tfkip distill --distributed ...` on every host, where
JAX finds the three values itself. Process 0 writes checkpoints and artifacts; all
processes read checkpoints from the same path (a shared filesystem or bucket).
"""
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from tfkip.errors import TfkipError

AXIS = 'targets'
ENV = ('JAX_COORDINATOR_ADDRESS', 'JAX_NUM_PROCESSES', 'JAX_PROCESS_ID')


def initialize(coordinator_address=None, num_processes=None, process_id=None, auto=False):
    """Starts JAX's distributed runtime if asked to; returns whether it did.

    Args:
      coordinator_address, num_processes, process_id: explicit settings; each falls back
        to the environment variable of `ENV`. All three or none must be set.
      auto: with none set, let JAX detect the cluster (TPU pod slice, SLURM, Open MPI).

    Must run before anything else touches JAX's devices.
    """
    values = [coordinator_address, num_processes, process_id]
    values = [v if v is not None else os.environ.get(name) for v, name in zip(values, ENV)]
    given = [name for v, name in zip(values, ENV) if v is not None]
    if given and len(given) < len(ENV):
        missing = sorted(set(ENV) - set(given))
        raise TfkipError(f'multi-host KIP needs all of {", ".join(ENV)} (or their flags); '
                         f'missing {", ".join(missing)}')
    if not given and not auto:
        return False
    # Cross-process collectives on CPU (tests, CPU clusters); GPUs and TPUs ignore it.
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    address, count, index = values
    if given:
        try:
            count, index = int(count), int(index)
        except ValueError:
            raise TfkipError(f'JAX_NUM_PROCESSES and JAX_PROCESS_ID must be integers, got '
                             f'{count!r} and {index!r}') from None
        if not 0 <= index < count:
            raise TfkipError(f'process id {index} is not in [0, {count})')
    try:
        jax.distributed.initialize(*((address, count, index) if given else ()))
    except (ValueError, RuntimeError) as e:
        where = f'coordinator {address}' if given else 'the cluster JAX detected'
        raise TfkipError(f'could not start JAX\'s distributed runtime with {where}: {e}. '
                         'Off a TPU pod slice, SLURM or Open MPI, give the coordinator '
                         'address, process count and process id') from None
    return True


def target_mesh(devices=None):
    """A 1-D mesh over `devices` (default: every device of every process), axis `AXIS`."""
    return Mesh(np.asarray(devices if devices is not None else jax.devices()), (AXIS,))


def padded_size(batch_size, mesh):
    """The batch size rounded up to a multiple of the mesh's device count."""
    return -(-batch_size // mesh.size) * mesh.size


def shard_targets(mesh, indices, load):
    """The target batch as global arrays split over `mesh`, each process loading only the
    rows its devices hold.

    Args:
      mesh: from `target_mesh`.
      indices: [T] int, the batch's rows in the training data (the same on every process).
      load: `load(rows) -> tuple of [len(rows), ...] numpy arrays`, e.g. the images and
        centered one-hot labels of those rows.

    Returns:
      The loaded arrays with T' = padded_size(T) rows, then weights [T'] float32: padding
      repeats the last target with weight 0.
    """
    size = padded_size(len(indices), mesh)
    weights = np.zeros(size, np.float32)
    weights[:len(indices)] = 1.
    indices = np.concatenate([indices, np.repeat(indices[-1:], size - len(indices))])
    sharding = NamedSharding(mesh, P(AXIS))
    spans = [s[0] for s in sharding.addressable_devices_indices_map((size,)).values()]
    start, stop = min(s.start or 0 for s in spans), max(s.stop or size for s in spans)
    local = (*load(indices[start:stop]), weights[start:stop])
    return tuple(jax.make_array_from_process_local_data(sharding, a, (size,) + a.shape[1:])
                 for a in local)


def split_rows(fn, x, axis_name=None):
    """`fn(x)`, computed row-split across the devices of `axis_name` inside `shard_map`.

    Each of the n devices applies `fn` to its ceil(N / n) rows of x: [N, ...] (the last
    device's padded by repeating the last row) and the results are all-gathered, so work
    over a replicated array (the support set) is split rather than repeated on every
    device. `fn` maps [R, ...] to [R, ...] row by row. With axis_name None: `fn(x)`.
    """
    if axis_name is None:
        return fn(x)
    n, size = jax.lax.axis_size(axis_name), x.shape[0]
    rows = -(-size // n)
    padded = jnp.concatenate([x, jnp.repeat(x[-1:], rows * n - size, axis=0)])
    mine = jax.lax.dynamic_slice_in_dim(padded, jax.lax.axis_index(axis_name) * rows, rows)
    # 'invarying': every device then holds the same whole result, so what follows (the KRR
    # solve) is replicated and the gradient flows back as each device's slice of the summed
    # cotangent.
    return jax.lax.all_gather(fn(mine), axis_name, tiled=True, to='invarying')[:size]


def over_targets(loss_fn, mesh, replicated=1):
    """A step's loss split over the target rows of `mesh`.

    Args:
      loss_fn: `loss_fn(*replicated_args, x_t, y_t, weights, key, axis_name=None)`, whose
        sums over the targets are `psum`-ed over `axis_name`.
      mesh: from `target_mesh`, or None.
      replicated: how many leading arguments (parameters, a network) every device holds
        whole; the three target arrays are split by rows, the key replicated.

    Returns:
      The loss over the whole batch on every device; `loss_fn` itself when mesh is None.
    """
    if mesh is None:
        return loss_fn
    axis, = mesh.axis_names
    return jax.shard_map(functools.partial(loss_fn, axis_name=axis), mesh=mesh,
                         in_specs=(P(),) * replicated + (P(axis),) * 3 + (P(),),
                         out_specs=P())


def replicate(tree, mesh):
    """Host values (identical on every process) -> arrays replicated over `mesh`, never
    aliasing `tree`'s buffers (a training loop donates what this returns)."""
    return jax.device_put(tree, NamedSharding(mesh, P()), may_alias=False)


def is_writer():
    """Whether this process writes files (process 0)."""
    return jax.process_index() == 0


def batch_mean(per_target, correct, target_weights=None, axis_name=None):
    """The loss and accuracy of a target batch, over its targets of weight 1.

    Args:
      per_target: [T] float, each target's loss; correct: [T] bool, each prediction's.
      target_weights: [T] float32, 1 for a target, 0 for padding (None: all ones).
      axis_name: inside `shard_map`, the mesh axis the targets are split over: the sums
        are `psum`-ed, so the result is the whole batch's on every device.

    Returns:
      (loss [] float, {'accuracy': [] float}).
    """
    if target_weights is None:
        target_weights = jnp.ones(per_target.shape, per_target.dtype)
    sums = {'loss': jnp.sum(target_weights * per_target),
            'correct': jnp.sum(target_weights * correct),
            'count': jnp.sum(target_weights)}
    if axis_name is not None:
        sums = jax.lax.psum(sums, axis_name)
    return sums['loss'] / sums['count'], {'accuracy': sums['correct'] / sums['count']}
