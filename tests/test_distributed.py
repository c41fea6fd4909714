"""KIP over several devices and processes: the same trajectory as on one device.

The fake CPU devices (XLA_FLAGS=--xla_force_host_platform_device_count) and
`jax.distributed.initialize` must be set before JAX starts, so these tests run
`tests/kip_worker.py` in fresh processes.
"""
import json
import os
import socket
import subprocess
import sys
import types

import jax
import numpy as np
import pytest

from tfkip.distill import distributed, step_kernels
from tfkip.distill.methods.kip.step import kip
from tfkip.distill.krr import centered_one_hot
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn

WORKER = os.path.join(os.path.dirname(__file__), 'kip_worker.py')
# Adam divides each gradient entry by its own running scale, so float32 rounding in
# entries near zero grows into visible differences within a few steps; the first step's
# loss is compared tightly, the trajectory to float32-with-Adam tolerance: at most 1% of
# the entries may differ by more than ATOL (an entry whose gradient is ~0 can move by a
# good part of the learning rate on rounding alone), none by the learning rate. The first
# loss's tolerance is float32's for a sum over the target batch: the finite networks of
# RFAD, FRePo and DM run their convolutions on each device's share of the targets, which
# XLA:CPU rounds differently from the whole batch (RFAD's first loss: 5.1e-6 apart).
FIRST_RTOL, RTOL, ATOL = 2e-5, 2e-3, 5e-3
LEARNING_RATE = 0.05  # tests/kip_worker.py's


def _worker(tmp_path, *args, env=None, name='out.json'):
    out = tmp_path / name
    cmd = [sys.executable, WORKER, '--out', str(out), *args]
    done = subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def _assert_same_run(a, b):
    assert len(a['losses']) == len(b['losses']) == 4
    np.testing.assert_allclose(a['losses'][0], b['losses'][0], rtol=FIRST_RTOL)
    np.testing.assert_allclose(a['losses'], b['losses'], rtol=RTOL)
    for key in ('images', 'labels'):
        diff = np.abs(np.asarray(a[key]) - np.asarray(b[key]))
        assert np.mean(diff > ATOL) <= 0.01, (key, np.sort(diff, None)[-10:])
        assert diff.max() < LEARNING_RATE, (key, diff.max())


@pytest.mark.slow
def test_one_and_eight_devices_agree_for_every_kernel_backend(tmp_path):
    out = _worker(tmp_path, '--devices', '8', '--mesh', '1', '8',
                  '--kernels', 'fc', 'fc_neural_tangents', 'convnet', 'rfad_convnet',
                  'frepo', 'dm')
    results = json.loads(out.read_text())
    for name, runs in results.items():
        assert runs['1']['losses'][-1] < runs['1']['losses'][0], name
        _assert_same_run(runs['1'], runs['8'])


@pytest.mark.slow
def test_two_processes_give_the_one_process_result(tmp_path):
    single = json.loads(_worker(tmp_path, '--devices', '1', name='single.json').read_text())
    with socket.socket() as s:
        s.bind(('localhost', 0))
        port = s.getsockname()[1]
    out, workdir = tmp_path / 'multi.json', tmp_path / 'ckpt'
    procs = [subprocess.Popen(
        [sys.executable, WORKER, '--devices', '2', '--workdir', str(workdir), '--out', str(out)],
        env={**os.environ, 'JAX_COORDINATOR_ADDRESS': f'localhost:{port}',
             'JAX_NUM_PROCESSES': '2', 'JAX_PROCESS_ID': str(i)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    multi = json.loads(out.read_text())
    assert list(multi['fc']) == ['4']  # 2 processes x 2 devices, one mesh
    _assert_same_run(single['fc']['1'], multi['fc']['4'])
    # One checkpoint, written by process 0, at the last step.
    meta = json.loads((workdir / 'fc_4' / 'checkpoint.json').read_text())
    assert meta['step'] == 4


def test_a_one_device_mesh_is_the_unsharded_step(train_data):
    config = KernelConfig('fc', depth=1)
    kernels = step_kernels.exact(make_kernel_fn(config, 3))
    x, y = train_data.images, centered_one_hot(train_data.labels, 3)
    params = {'images': x[::20], 'labels': y[::20], 'hparams': config.initial_hparams()}
    plain = kip(kernels, learning_rate=0.05, reg=1e-6)
    sharded = kip(kernels, learning_rate=0.05, reg=1e-6,
                  mesh=distributed.target_mesh(jax.devices()[:1]))
    (_, a), (_, b) = (jax.jit(p.update)(p.init(params), x, y) for p in (plain, sharded))
    np.testing.assert_allclose(a['loss'], b['loss'], rtol=1e-6)
    assert a['accuracy'] == b['accuracy']


def test_targets_are_padded_to_the_device_count_with_weight_zero():
    assert distributed.padded_size(21, types.SimpleNamespace(size=8)) == 24
    assert distributed.padded_size(24, types.SimpleNamespace(size=8)) == 24
    mesh = distributed.target_mesh(jax.devices()[:1])
    images = np.arange(10, dtype=np.float32)[:, None]
    x, w = distributed.shard_targets(mesh, np.array([3, 5]), lambda rows: (images[rows],))
    np.testing.assert_array_equal(np.asarray(x)[:, 0], [3, 5])
    np.testing.assert_array_equal(np.asarray(w), [1, 1])


def test_initialize_needs_all_three_settings_or_none(monkeypatch):
    for name in distributed.ENV:
        monkeypatch.delenv(name, raising=False)
    assert distributed.initialize() is False  # a single process: nothing to start
    monkeypatch.setenv('JAX_COORDINATOR_ADDRESS', 'localhost:1234')
    with pytest.raises(TfkipError, match='missing JAX_NUM_PROCESSES, JAX_PROCESS_ID'):
        distributed.initialize()
    with pytest.raises(TfkipError, match='process id 2 is not in'):
        distributed.initialize(num_processes=2, process_id=2)
