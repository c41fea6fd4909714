"""`tfkip run`: every stage on scikit-learn's digits, resuming, config files, skipping."""
import json
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from tfkip import cli, preprocess, sources
from tfkip.errors import TfkipError
from tfkip.pipeline import stages
from tfkip.publish import dataset_for_source

pytestmark = pytest.mark.slow  # end to end: the full suite runs it


@pytest.fixture
def run(tmp_path, small_run_config):
    """`tfkip run` of conftest's SMALL_RUN in tmp_path / 'run', with extra options."""
    return lambda *extra: cli.main(['run', '--config-file', str(small_run_config),
                                    '--run-dir', str(tmp_path / 'run'), *extra])


def test_digits_source_has_fixed_disjoint_stratified_splits():
    train, test = sources.load('sklearn:digits', 'train'), sources.load('sklearn:digits', 'test')
    assert train.images.shape == (1442, 8, 8, 1) and test.images.shape == (355, 8, 8, 1)
    assert np.bincount(test.labels).min() >= 34  # every class in both splits
    flat = {x.tobytes() for x in train.images}
    assert sum(x.tobytes() in flat for x in test.images) < 5  # digits has a few duplicates
    with pytest.raises(TfkipError, match="has splits \\('train', 'test'\\), not 'valid'"):
        sources.load('sklearn:digits', 'valid')


def test_invert_undoes_standardization_and_zca():
    data = sources.load('sklearn:digits', 'train')
    stats = preprocess.fit(preprocess.PreprocessConfig(zca=True, zca_reg=0.1), data)
    back = preprocess.invert(stats, preprocess.apply(stats, data.images[:20]))
    np.testing.assert_allclose(back, data.images[:20], atol=1e-3)


def test_dataset_is_inferred_from_the_source_name():
    assert dataset_for_source('sklearn:digits') == 'kip_digits'
    assert dataset_for_source('tfds:svhn_cropped') == 'kip_svhn'
    assert dataset_for_source('.data/mnist/') == 'kip_mnist'
    assert dataset_for_source('data/my_images') is None


@pytest.mark.parametrize('source,given,factor,method', [
    ('sklearn:digits', {}, 1, 'dm'), ('tfds:cifar10', {}, 2, 'dm'), ('tfds:mnist', {}, 2, 'dm'),
    ('tfds:cifar10', {'factor': 1}, 1, 'dm'), ('tfds:cifar10', {'method': 'rfad'}, 1, 'rfad')])
def test_the_preset_multi_forms_28x28_images_and_up_and_leaves_other_methods_their_own(
        source, given, factor, method):
    from tfkip.pipeline.config import RunConfig
    distill = RunConfig.from_options({'source': source, 'run_dir': 'r', **given}).distill
    assert (distill.method, distill.factor) == (method, factor)
    assert getattr(distill.options, 'dm_siamese', False) == (method == 'dm')
    assert getattr(distill.options, 'dm_cov_weight', 0.0) == (0.01 if method == 'dm' else 0.0)


def test_run_makes_every_stage_and_a_rerun_resumes(small_run, run, tmp_path, capsys):
    run_dir, out = small_run
    # tfkip run's preset: DM on the ConvNet family (labels fixed), augmentation; 8x8 images
    # are not multi-formed.
    published = 'kip_digits/dm_convnet_fixedlabels_aug_ipc1'
    assert f"tfds.load('{published}', data_dir='{run_dir}/tfds')" in out
    report = json.loads((run_dir / 'report.json').read_text())
    assert 0.1 < report['krr_accuracy'] <= 1 and 0 < report['baseline_krr_accuracy'] <= 1
    (transfer,), (baseline,) = report['transfer'], report['baseline_transfer']
    assert transfer['protocol'] == baseline['protocol'] == 'standard'
    assert transfer['network'] == 'convnet' and len(transfer['accuracies']) == 1
    assert set(report['seconds_per_stage']) == set(stages.STAGES) - {'report'}
    for name in ('report.md', 'distilled.png', 'curves.png'):
        assert (run_dir / name).stat().st_size > 0
    markdown = (run_dir / 'report.md').read_text()
    assert "The method is `tfkip run`'s preset: DM" in markdown
    assert 'on the convnet family of depth 3 (the KRR row uses its NNGP kernel)' in markdown
    rows = tfds.as_numpy(tfds.load(published, split='train', batch_size=-1,
                                   data_dir=str(run_dir / 'tfds')))
    assert rows['image'].shape == (10, 8, 8, 1)

    # Rerun in a copy (the shared run stays as it was made): a changed transfer option reruns
    # the transfer stage and those after it, not the distillation.
    shutil.copytree(run_dir, tmp_path / 'run')
    run_dir = tmp_path / 'run'
    assert run('--transfer-steps', '4') == 0
    out = capsys.readouterr().out
    for stage in ('preprocess', 'distill', 'publish'):
        assert f'[{stage}] done already' in out
    for stage in ('transfer', 'baseline', 'report'):
        assert f'[{stage}] running' in out
    # DD-Ranking's scores: the transfer stage measures them.
    assert run('--transfer-steps', '4', '--transfer-scores', '--transfer-learning-rates',
               '0.05', '--transfer-full-epochs', '1') == 0
    out = capsys.readouterr().out
    assert '[transfer] running' in out and '[distill] done already' in out
    (transfer,) = json.loads((run_dir / 'report.json').read_text())['transfer']
    assert set(transfer['scores']['learning_rates'].values()) == {0.05}
    assert 'DD-Ranking Label-Robust Score, `standard` protocol | 0.' in (
        run_dir / 'report.md').read_text()


def test_a_crashed_stage_reruns_from_where_it_stopped(run, tmp_path, capsys, monkeypatch):
    def crash(*args):
        raise TfkipError('simulated crash')
    monkeypatch.setitem(stages._RUNNERS, 'publish', crash)
    assert run('--skip', 'transfer', 'baseline') == 2
    assert 'simulated crash' in capsys.readouterr().err
    assert not (tmp_path / 'run' / 'stages' / 'publish.json').exists()
    monkeypatch.undo()
    assert run('--skip', 'transfer', 'baseline') == 0
    out = capsys.readouterr().out
    assert '[distill] done already' in out and '[publish] running' in out
    report = json.loads((tmp_path / 'run' / 'report.json').read_text())
    assert report['transfer'] is None and report['published']


def test_config_file_holds_options_and_the_command_line_overrides_it(tmp_path, capsys):
    config = tmp_path / 'run.yaml'
    config.write_text('source: sklearn:digits\nipc: 2\nlearning-rate: 0.02\n'
                      'skip: [publish, transfer, baseline]\n')
    assert cli.main(['run', '--config-file', str(config), '--run-dir', str(tmp_path / 'run'),
                     '--ipc', '1', '--steps', '2', '--target-batch-size', '100']) == 0
    made = json.loads((tmp_path / 'run' / 'config.json').read_text())
    assert made['distill']['images_per_class'] == 1  # the command line wins
    assert made['distill']['learning_rate'] == 0.02  # the file, with a dashed name
    assert made['skip'] == ['publish', 'transfer', 'baseline']

    config.write_text('source: sklearn:digits\nipcs: 2\n')
    assert cli.main(['run', '--config-file', str(config), '--run-dir', str(tmp_path / 'r')]) == 2
    assert 'unknown option(s) ipcs' in capsys.readouterr().err


def test_skipping_a_stage_a_later_one_needs_is_a_clear_error(run, tmp_path, capsys):
    assert run('--skip', 'publish') == 2
    assert "the transfer stage needs the publish stage's output" in capsys.readouterr().err
    assert cli.main(['run', '--source', 'data/my_images', '--run-dir', str(tmp_path)]) == 2
    assert 'give --dataset' in capsys.readouterr().err
    assert cli.main(['run', '--run-dir', str(tmp_path)]) == 2
    assert '--source is required' in capsys.readouterr().err


def test_the_report_says_so_when_the_distilled_set_does_not_beat_random():
    from tfkip.pipeline.report import _transfer_rows

    def result(mean, std):
        return {'protocol': 'standard', 'network': 'convnet', 'mean': mean, 'std': std,
                'accuracies': [mean] * 5}
    rows, verdicts = _transfer_rows({'transfer': [result(0.5, 0.01)],
                                     'baseline_transfer': [result(0.6, 0.01)]})
    assert rows == ['| Keras convnet, `standard` protocol | 50.00% ± 1.00 (5 seeds) | '
                    '60.00% ± 1.00 (5 seeds) |']
    assert len(verdicts) == 1 and 'does not beat a random real subset' in verdicts[0]
    _, verdicts = _transfer_rows({'transfer': [result(0.61, 0.01)],
                                  'baseline_transfer': [result(0.6, 0.01)]})
    assert 'within two standard deviations' in verdicts[0]
    _, verdicts = _transfer_rows({'transfer': [result(0.7, 0.01)],
                                  'baseline_transfer': [result(0.6, 0.01)]})
    assert verdicts == []
