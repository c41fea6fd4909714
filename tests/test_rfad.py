"""RFAD through the distillation loop: it learns, the Platt loss, exact resume, errors."""
import dataclasses

import numpy as np
import pytest

from tfkip.distill.train import DistillConfig, evaluate_start
from tfkip.distill.methods.rfad import RFADOptions
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import KernelConfig

from conftest import run_distill, run_resumed

RFAD = DistillConfig(KernelConfig('convnet', depth=1, kernel='nngp'), method='rfad',
                     images_per_class=1, steps=6, learning_rate=0.05, target_batch_size=12,
                     options=RFADOptions(rf_models=2, rf_width=16), eval_every=3, eval_size=None,
                     checkpoint_every=2, log_every=1)


@pytest.mark.slow
@pytest.mark.parametrize('loss', ['mse', 'platt'])
def test_rfad_lowers_its_loss_and_is_evaluated_with_the_exact_kernel(train_data, test_data,
                                                                     loss):
    config = dataclasses.replace(RFAD, loss=loss, steps=12, eval_every=0)
    result = run_distill(config, train_data, eval_data=test_data)
    losses = [r['loss'] for r in result.metadata.losses]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert result.metadata.method == 'rfad'
    # The final metrics are exact-NNGP KRR, the evaluation of the real start too.
    _, _, start = evaluate_start(config, train_data, test_data)
    metrics, temperature = result.metadata.metrics, result.metadata.extra['platt_temperature']
    if loss == 'platt':  # cross-entropy: the label scale moves, so compare accuracy
        assert metrics['accuracy'] >= start['accuracy']
        assert temperature > 0 and temperature != pytest.approx(0.1)  # learned
    else:
        assert metrics['mse'] < start['mse']
        assert temperature is None


@pytest.mark.slow
def test_rfad_resume_is_exact(train_data, tmp_path):
    straight = run_distill(RFAD, train_data)
    resumed = run_resumed(RFAD, train_data, tmp_path, stop=3)
    np.testing.assert_array_equal(resumed.images, straight.images)
    np.testing.assert_array_equal(resumed.labels, straight.labels)


@pytest.mark.slow
def test_fresh_networks_every_step_follow_the_seed(train_data):
    a, b = run_distill(RFAD, train_data), run_distill(RFAD, train_data)
    np.testing.assert_array_equal(a.images, b.images)
    c = run_distill(dataclasses.replace(RFAD, seed=1), train_data)
    assert not np.array_equal(a.images, c.images)


@pytest.mark.parametrize('change,message', [
    ({'kernel': KernelConfig('convnet', depth=1)}, "use the 'nngp' kernel"),
    ({'loss': 'hinge'}, 'unknown loss'),
    ({'options': {'rf_models': 0}}, 'rf_models'),
])
def test_bad_rfad_settings_are_clear_errors(change, message):
    with pytest.raises(TfkipError, match=message):
        dataclasses.replace(RFAD, **change)


@pytest.mark.slow
def test_augmentation_in_the_loss_changes_the_step_and_resumes_exactly(train_data, tmp_path):
    # The support images pass through one DSA group a step, drawn from the step's key.
    augmented = dataclasses.replace(RFAD, augmentation=('crop', 'flip', 'color'),
                                    learn_labels=False)
    plain = run_distill(dataclasses.replace(augmented, augmentation=()), train_data)
    straight = run_distill(augmented, train_data)
    assert not np.allclose(straight.images, plain.images)
    assert straight.metadata.config['augmentation'] == ('crop', 'flip', 'color')
    np.testing.assert_array_equal(straight.labels, plain.labels)  # fixed labels stay fixed
    resumed = run_resumed(augmented, train_data, tmp_path, stop=3)
    np.testing.assert_array_equal(resumed.images, straight.images)
    with pytest.raises(TfkipError, match="augmentation applies to the dm, frepo, kip and rfad "
                                         "methods, not 'dd'"):
        dataclasses.replace(RFAD, method='dd', augmentation=('crop',))


@pytest.mark.slow
def test_the_held_out_curve_starts_at_step_0(train_data, test_data):
    result = run_distill(RFAD, train_data, eval_data=test_data)
    steps = [h['step'] for h in result.metadata.history]
    assert steps == [0, 3, 6]
    _, _, start = evaluate_start(RFAD, train_data, test_data)
    assert result.metadata.history[0]['eval_accuracy'] == start['accuracy']
