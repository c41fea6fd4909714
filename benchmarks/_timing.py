"""Timing one distillation step, for the step-time benchmarks."""
import time

import jax
import numpy as np

from tfkip.distill import distributed
from tfkip.distill.methods.kip.step import PLATT_TEMPERATURE, kip
from tfkip.distill.krr import centered_one_hot


def step_rate(kernels, hparams, support, targets, shape, *, mesh=None, steps=1, repeats=3,
              loss='mse'):
    """Median steps per second of a KIP / RFAD step (images and labels learned) on random
    images, after one compiled warm-up step.

    Args:
      kernels: step kernels (`tfkip.distill.step_kernels`).
      hparams: the kernel's hyperparameters.
      support, targets: support images, targets per step (10 classes).
      shape: (H, W, C) of the images.
      mesh: split the step over it (`distributed.target_mesh`); None: unsharded.
      steps, repeats: each of `repeats` timings covers `steps` steps.
      loss: 'mse' or 'platt'.

    Returns:
      (median steps per second, [steps per second of each timing]).
    """
    rng = np.random.default_rng(0)
    labels = np.asarray(centered_one_hot(np.arange(support + targets) % 10, 10))
    images = rng.normal(size=(support + targets,) + tuple(shape)).astype(np.float32)
    learn = ('images', 'labels') + (('log_temperature',) if loss == 'platt' else ())
    pair = kip(kernels, learning_rate=0.01, reg=1e-6, learn=learn, loss=loss, mesh=mesh)
    params = {'images': images[:support], 'labels': labels[:support], 'hparams': hparams}
    if loss == 'platt':
        params['log_temperature'] = np.log(np.float32(PLATT_TEMPERATURE))
    state = pair.init(params)
    rows = np.arange(support, support + targets)
    if mesh is None:
        batch = (images[rows], labels[rows])
    else:
        state = distributed.replicate(state, mesh)
        batch = distributed.shard_targets(mesh, rows, lambda r: (images[r], labels[r]))
    update = jax.jit(pair.update)
    state, metrics = update(state, *batch)  # compile
    jax.block_until_ready(metrics)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            state, metrics = update(state, *batch)
        jax.block_until_ready(metrics)
        timings.append(steps / (time.perf_counter() - start))
    return float(np.median(timings)), timings

