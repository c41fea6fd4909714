"""KIP and the distillation loop: learning, determinism, exact resume, clear errors."""
import dataclasses
import json
import time

import jax
import numpy as np
import pytest

from tfkip.distill import step_kernels
from tfkip.formats import checkpoint
from tfkip.distill.methods.kip.step import kip
from tfkip.distill.krr import centered_one_hot
from tfkip.distill.methods.ls.solve import label_solve
from tfkip.distill.train import DistillConfig, distill
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn
from tfkip.sources.dataset import LabeledImages
from conftest import make_images, run_distill

CONFIG = DistillConfig(KernelConfig('fc', depth=1), images_per_class=1, steps=6,
                       learning_rate=0.05, target_batch_size=12, eval_every=3, eval_size=None,
                       checkpoint_every=2, log_every=1)


def test_kip_update_lowers_the_loss_on_a_fixed_batch(train_data):
    config = KernelConfig('fc', depth=2)
    pair = kip(step_kernels.exact(make_kernel_fn(config, 3)), learning_rate=0.05, reg=1e-6,
               learn=('images', 'labels'))
    x, y = train_data.images, centered_one_hot(train_data.labels, 3)
    state = pair.init({'images': x[::20] + 1.0, 'labels': y[::20],
                       'hparams': config.initial_hparams()})
    update = jax.jit(pair.update)
    losses = []
    for _ in range(20):
        state, metrics = update(state, x, y)
        losses.append(float(metrics['loss']))
    assert losses[-1] < 0.5 * losses[0]
    assert int(state.step) == 20


@pytest.mark.slow
def test_frozen_parameters_stay_put(train_data):
    config = KernelConfig('fc', depth=1)
    pair = kip(step_kernels.exact(make_kernel_fn(config, 3)), learning_rate=0.1, reg=1e-6, learn=('labels',))
    x, y = train_data.images, centered_one_hot(train_data.labels, 3)
    params = {'images': x[::20], 'labels': y[::20], 'hparams': config.initial_hparams()}
    state, _ = pair.update(pair.init(params), x, y)
    np.testing.assert_array_equal(state.params['images'], params['images'])
    np.testing.assert_array_equal(state.params['hparams']['W_std'], params['hparams']['W_std'])
    assert not np.allclose(state.params['labels'], params['labels'])


def test_unknown_learnable_is_rejected():
    with pytest.raises(ValueError, match='cannot learn'):
        kip(lambda *a: None, learning_rate=0.1, reg=0.0, learn=('images', 'widths'))


def test_distill_learns_and_reports(train_data, test_data):
    result = run_distill(CONFIG, train_data, eval_data=test_data)
    assert result.images.shape == (3, 8, 8, 1) and result.labels.shape == (3, 3)
    assert result.metadata.steps == 6
    assert [h['step'] for h in result.metadata.history] == [0, 3, 6]  # from the start
    # Each check timed apart from the steps, inside the run's time.
    assert all(0 <= h['eval_seconds'] <= h['seconds'] for h in result.metadata.history)
    assert result.metadata.metrics['accuracy'] == 1.0
    assert result.metadata.class_names == ['c0', 'c1', 'c2']


@pytest.mark.slow
def test_same_seed_same_result_other_seed_other_result(train_data):
    a, b = run_distill(CONFIG, train_data), run_distill(CONFIG, train_data)
    c = run_distill(dataclasses.replace(CONFIG, seed=1), train_data)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)


@pytest.mark.slow
def test_resume_is_exact(train_data, tmp_path):
    straight = run_distill(CONFIG, train_data)
    first = run_distill(dataclasses.replace(CONFIG, steps=3), train_data, workdir=str(tmp_path))
    assert first.metadata.steps == 3
    # As if the first process had run for 1000 s: the resumed run's wall time counts them.
    saved = tmp_path / checkpoint.JSON
    saved.write_text(json.dumps(dict(json.loads(saved.read_text()), seconds=1000.0)))
    start = time.time()
    resumed = run_distill(CONFIG, train_data, workdir=str(tmp_path))
    assert resumed.metadata.steps == 6
    assert 1000 < resumed.metadata.wall_time_s < 1000 + time.time() - start
    np.testing.assert_array_equal(resumed.images, straight.images)
    np.testing.assert_array_equal(resumed.labels, straight.labels)


@pytest.mark.slow
def test_crash_then_resume_is_exact_with_a_cosine_schedule(train_data, test_data, tmp_path):
    cosine = dataclasses.replace(CONFIG, lr_schedule='cosine')
    straight = run_distill(cosine, train_data)
    assert not np.array_equal(straight.images, run_distill(CONFIG, train_data).images)

    class Crash(Exception):
        pass

    def crash_at_step_3(line):
        if line.startswith('step 3'):
            raise Crash  # after the step-2 checkpoint, before the step-3 one

    with pytest.raises(Crash):
        distill(cosine, train_data, eval_data=test_data, workdir=str(tmp_path),
                log=crash_at_step_3, progress=False)
    resumed = run_distill(cosine, train_data, workdir=str(tmp_path))
    np.testing.assert_array_equal(resumed.images, straight.images)
    with pytest.raises(TfkipError, match='different configuration'):
        run_distill(dataclasses.replace(cosine, steps=9), train_data, workdir=str(tmp_path))


def test_checkpoint_of_another_config_is_refused(train_data, tmp_path):
    run_distill(dataclasses.replace(CONFIG, steps=2), train_data, workdir=str(tmp_path))
    with pytest.raises(TfkipError, match='different configuration'):
        run_distill(dataclasses.replace(CONFIG, learning_rate=0.1), train_data,
                    workdir=str(tmp_path))


def test_damaged_checkpoint_is_a_clear_error(train_data, tmp_path):
    run_distill(dataclasses.replace(CONFIG, steps=2), train_data, workdir=str(tmp_path))
    (tmp_path / checkpoint.NPZ).write_bytes(b'not a zip')
    with pytest.raises(TfkipError, match='damaged checkpoint'):
        run_distill(CONFIG, train_data, workdir=str(tmp_path))


def test_label_solve_method(train_data, test_data):
    result = run_distill(dataclasses.replace(CONFIG, method='ls'), train_data, eval_data=test_data)
    assert result.metadata.steps == 0
    assert result.metadata.metrics['accuracy'] == 1.0


@pytest.mark.slow
def test_final_label_solve_replaces_the_learned_labels(train_data, test_data):
    kip_only = run_distill(CONFIG, train_data, eval_data=test_data)
    polished = run_distill(dataclasses.replace(CONFIG, final_label_solve=True), train_data,
                   eval_data=test_data)
    np.testing.assert_array_equal(polished.images, kip_only.images)
    kernel_fn = make_kernel_fn(CONFIG.kernel, 3)
    expected = label_solve(kernel_fn, CONFIG.kernel.initial_hparams(), polished.images,
                           train_data.images, train_data.labels, num_classes=3, reg=CONFIG.reg)
    np.testing.assert_allclose(polished.labels, expected, rtol=1e-5, atol=1e-6)
    assert polished.metadata.metrics_before_label_solve == kip_only.metadata.metrics


@pytest.mark.parametrize('change,message', [
    ({'images_per_class': 21}, 'has only 20 of class 0'),
    ({'target_batch_size': 10}, 'multiple of the number of classes'),
    ({'target_batch_size': 63}, 'target_batch_size / num_classes needs 21'),
    ({'kernel': KernelConfig('convnet', depth=4)}, 'at least 16'),
])
def test_impossible_requests_are_clear_errors(train_data, change, message):
    with pytest.raises(TfkipError, match=message):
        run_distill(dataclasses.replace(CONFIG, **change), train_data)


@pytest.mark.parametrize('change,message', [
    ({'method': 'wang'}, 'unknown method'), ({'steps': -1}, 'steps'),
    ({'lr_schedule': 'linear'}, 'unknown lr_schedule'),
    ({'learning_rate': 0.0}, 'learning_rate'), ({'eval_size': 0}, 'eval_size'),
])
def test_bad_config_values(change, message):
    with pytest.raises(TfkipError, match=message):
        dataclasses.replace(CONFIG, **change)


def test_mismatched_eval_data_is_rejected(train_data):
    other = make_images(5, num_classes=4, source='other')
    with pytest.raises(TfkipError, match='other: 4 classes'):
        run_distill(CONFIG, train_data, eval_data=other)


@pytest.mark.slow
def test_ill_conditioned_kernel_stops_with_advice():
    # Every image of a class identical and no ridge: K_ss is singular.
    same = LabeledImages(np.repeat(np.eye(3, 4)[:, None, None, :], 4, 0).astype(np.float32),
                         np.tile(np.arange(3), 4), ('a', 'b', 'c'))
    config = dataclasses.replace(CONFIG, images_per_class=2, reg=0.0, target_batch_size=3,
                                 kernel=KernelConfig('fc', depth=1, b_std=0.0))
    with pytest.raises(TfkipError, match='Raise --reg'):
        run_distill(config, same)
