"""DD-Ranking's robust scores, measured: which networks are trained, with which learning rate
chosen where, and the command that scores a set another tool made."""
import json

import numpy as np
import pytest

from tfkip import cli
from tfkip.errors import TfkipError
from tfkip.sources.dataset import LabeledImages
from tfkip.transfer import scores
from tfkip.transfer.robust import ScoreConfig, robust_scores
from tfkip.transfer.train import TransferConfig

CLASSES = ('a', 'b')


def _split(n, name):
    return LabeledImages(np.full((n, 4, 4, 1), float(n), np.float32), np.arange(n) % 2, CLASSES,
                         name)


class FakeNetworks:
    """Accuracy by (what, split, learning rate): on validation 0.05 is the best rate, on test
    0.001 would be; each call recorded."""

    def __init__(self):
        self.calls = []

    def __call__(self, what, config, images, labels, split):
        self.calls.append((what, config, len(images), split.source))
        run = what.split(' lr ')[0]
        base = {'distilled': 0.6, 'hard': 0.5, 'random': 0.3, 'distilled_plain': 0.55,
                'random_plain': 0.2, 'full training split': 0.9}[run]
        best = 0.05 if split.source == 'validation' else 0.001
        return [base - abs(config.learning_rate - best) + 0.01 * s for s in config.seeds]


def _score(labels, label_robust=True, **kwargs):
    networks = FakeNetworks()
    return _score_with(labels, networks, label_robust, **kwargs), networks.calls


def _score_with(labels, networks, label_robust=True, full_epochs=None, **kwargs):
    config = TransferConfig(seeds=(0, 1), augmentation=('crop',), epochs=30)
    return robust_scores(config, ScoreConfig(learning_rates=(0.001, 0.01, 0.05),
                                             label_robust=label_robust,
                                             full_epochs=full_epochs),
                         np.zeros((2, 4, 4, 1), np.float32), labels,
                         np.zeros((2, 4, 4, 1), np.float32), np.eye(2, dtype=np.float32),
                         _split(20, 'train'), _split(6, 'validation'), _split(8, 'test'),
                         networks, **kwargs)


def test_each_rate_is_chosen_on_validation_and_only_it_meets_test():
    result, calls = _score(np.array([[0.9, 0.1], [0.2, 0.8]], np.float32))
    assert set(result['learning_rates']) == {'distilled', 'hard', 'random', 'distilled_plain',
                                             'random_plain'}
    assert set(result['learning_rates'].values()) == {0.05}
    on_test = [(what, config) for what, config, _, split in calls if split == 'test']
    assert all(config.learning_rate == 0.05 for what, config in on_test
               if what != 'full training split')
    # Rates are tried with one network each; test sees every seed once per run.
    tried = [config for what, config, _, split in calls if split == 'validation']
    assert len(tried) == 5 * 3 and all(config.seeds == (0,) for config in tried)
    assert sorted(what for what, _ in on_test) == sorted(
        ['distilled', 'hard', 'random', 'distilled_plain', 'random_plain',
         'full training split'])
    by_what = {what: config for what, config in on_test}
    assert by_what['hard'].loss == 'xent' and by_what['distilled'].loss == 'auto'
    assert by_what['distilled_plain'].augmentation == () == by_what['random_plain'].augmentation
    full = by_what['full training split']
    # As long as the set's networks (DD-Ranking's), unless full_epochs says otherwise.
    assert (full.augmentation, full.loss, full.epochs, full.steps, full.learning_rate) == (
        (), 'xent', 30, None, 0.01)
    assert [n for what, _, n, _ in calls if what == 'full training split'] == [20]
    _, calls = _score(np.array([[0.9, 0.1], [0.2, 0.8]], np.float32), full_epochs=5)
    assert [config.epochs for what, config, *_ in calls if what == 'full training split'] == [5]


def test_the_scores_are_dd_rankings_per_seed_then_averaged():
    result, _ = _score(np.array([[0.9, 0.1], [0.2, 0.8]], np.float32))
    acc = result['accuracies']
    assert result['full'] == pytest.approx(np.mean(acc['full']))
    lrs = [scores.label_robust(result['full'], acc['hard'][i], acc['distilled'][i],
                               acc['random'][i]).score for i in range(2)]
    ars = [scores.augmentation_robust(acc['distilled'][i], acc['random'][i],
                                      acc['distilled_plain'][i], acc['random_plain'][i]).score
           for i in range(2)]
    assert result['label_robust']['score']['mean'] == pytest.approx(np.mean(lrs))
    assert result['label_robust']['score']['std'] == pytest.approx(np.std(lrs))
    assert result['augmentation_robust']['score']['mean'] == pytest.approx(np.mean(ars))
    assert 0 < result['label_robust']['score']['mean'] < 1


def test_one_hot_labels_are_their_own_argmax_and_a_known_full_accuracy_is_not_retrained():
    result, calls = _score(np.eye(2, dtype=np.float32), full_accuracy=0.85)
    assert 'hard' not in result['learning_rates']
    assert result['accuracies']['hard'] == result['accuracies']['distilled']
    assert result['full'] == 0.85 and 'full' not in result['accuracies']
    assert not any(what.startswith('hard') or what.startswith('full') for what, *_ in calls)


def test_the_augmentation_robust_score_alone_trains_no_whole_split_nor_argmax_networks():
    soft = np.array([[0.9, 0.1], [0.2, 0.8]], np.float32)
    result, calls = _score(soft, label_robust=False)
    assert result['label_robust'] is None and result['full'] is None
    assert {what.split(' lr ')[0] for what, *_ in calls} == {
        'distilled', 'random', 'distilled_plain', 'random_plain'}
    assert result['augmentation_robust'] == _score(soft)[0]['augmentation_robust']
    with pytest.raises(TfkipError, match='Label-Robust'):
        _score(soft, label_robust=False, full_accuracy=0.85)


def test_networks_trained_elsewhere_go_in_two_rounds():
    """A `networks` that answers None until a network is trained (another machine trains
    what it was asked for between rounds): the first round asks for every rate on
    validation and the whole split, the second for every run at its rate on test."""
    soft = np.array([[0.9, 0.1], [0.2, 0.8]], np.float32)
    measure, trained, rounds = FakeNetworks(), set(), []

    def later(what, config, images, labels, split):
        key = (what, split.source, config.learning_rate, config.seeds)
        if key in trained:
            return measure(what, config, images, labels, split)
        rounds[-1].add(key)
        return None

    for _ in range(3):
        rounds.append(set())
        result = _score_with(soft, later)
        trained |= rounds[-1]
    first, second, third = rounds
    assert {what.split(' lr ')[0] for what, *_ in first} == {
        'distilled', 'hard', 'random', 'distilled_plain', 'random_plain', 'full training split'}
    assert all(split == 'validation' for what, split, *_ in first
               if what != 'full training split') and len(first) == 5 * 3 + 1
    assert len(second) == 5 and all(split == 'test' for _, split, *_ in second)
    assert not third and result == _score(soft)[0]


def test_a_protocol_without_augmentation_has_no_augmentation_robust_score():
    with pytest.raises(TfkipError, match='with and without'):
        robust_scores(TransferConfig(augmentation=()), ScoreConfig(), None, None, None, None,
                      None, None, None, FakeNetworks())


@pytest.mark.parametrize('fields,message', [
    ({'learning_rates': ()}, 'learning_rates'), ({'full_epochs': 0}, 'full_epochs'),
    ({'lrs_lambda': 1.5}, 'lrs_lambda'), ({'label_robust': 'no'}, 'label_robust')])
def test_bad_score_settings(fields, message):
    with pytest.raises(TfkipError, match=message):
        ScoreConfig(**fields)


def test_the_command_scores_a_set_another_tool_made(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 2
    images = rng.uniform(0, 255, (200, 8, 8, 1)) + 60 * labels[:, None, None, None]
    np.savez(tmp_path / 'real.npz', train_images=images[:160], train_labels=labels[:160],
             test_images=images[160:], test_labels=labels[160:])
    np.savez(tmp_path / 'set.npz', images=images[:4].astype(np.float32), labels=labels[:4])
    assert cli.main(['transfer', '--external-set', str(tmp_path / 'set.npz'), '--test-source',
                     str(tmp_path / 'real.npz'), '--scores', '--learning-rates', '0.05',
                     '--full-epochs', '1', '--width', '4', '--steps', '3', '--seeds', '0',
                     '--augmentation', 'crop']) == 0
    out = capsys.readouterr().out.splitlines()
    result = json.loads([line for line in out if line.startswith('{')][-1])
    got = result['scores']
    assert result['dataset'].endswith('set.npz') and len(result['accuracies']) == 1
    assert set(got['learning_rates'].values()) == {0.05}
    assert 0 <= got['label_robust']['score']['mean'] <= 1
    assert 0 <= got['augmentation_robust']['score']['mean'] <= 1
    assert 0 <= got['full'] <= 1 and len(got['accuracies']['full']) == 1
    assert any(line.startswith('scores: random lr 0.05 (validation) seed 0') for line in out)
    # The set's own network names the split it is scored on.
    assert any(line.startswith('transfer (') and line.endswith(f'on {tmp_path}/real.npz[test]')
               for line in out), out


def test_the_command_refuses_two_sets_and_bad_score_options(tmp_path, capsys):
    with pytest.raises(SystemExit, match='2'):
        cli.main(['transfer', '--external-set', 'a.npz', '--dataset', 'kip_mnist/fc_ipc1',
                  '--test-source', 'x.npz'])
    assert 'not allowed with' in capsys.readouterr().err
    np.savez(tmp_path / 'set.npz', images=np.zeros((2, 8, 8, 1), np.float32),
             labels=np.arange(2))
    np.savez(tmp_path / 'real.npz', test_images=np.zeros((4, 8, 8, 1)),
             test_labels=np.arange(4) % 2)
    assert cli.main(['transfer', '--external-set', str(tmp_path / 'set.npz'), '--test-source',
                     str(tmp_path / 'real.npz'), '--scores', '--full-epochs', '0']) == 2
    assert '--full-epochs must be an integer >= 1' in capsys.readouterr().err
    assert cli.main(['transfer', '--external-set', str(tmp_path / 'set.npz'), '--test-source',
                     str(tmp_path / 'real.npz'), '--scores', '--no-label-robust',
                     '--full-accuracy', '0.9']) == 2
    assert '--no-label-robust leaves out' in capsys.readouterr().err
