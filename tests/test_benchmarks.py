"""The benchmark runner: its rows reproduce the recorded results' settings, the committed
tables are what the results give, and a row runs, resumes and shares its random subset."""
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          'benchmarks')
# What a row's config may change without changing its set: how often it is watched.
MONITORING = ('eval_every', 'eval_size', 'checkpoint_every', 'log_every')


def _rows():
    spec = importlib.util.spec_from_file_location('rows', os.path.join(BENCHMARKS, 'rows.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script(*args, **kwargs):
    return subprocess.run([sys.executable, *args], cwd=BENCHMARKS, capture_output=True,
                          text=True, **kwargs)


def _common(a, b):
    """The entries of `a` that `b` also has, nested dicts likewise: older results lack the
    fields added since (a method's new options among them)."""
    return {k: _common(v, b[k]) if isinstance(v, dict) and isinstance(b[k], dict) else v
            for k, v in a.items() if k in b and k not in MONITORING}


def test_every_recorded_row_is_declared_with_the_settings_it_ran():
    rows = _rows()
    declared = {row.key: row for row in rows.ROWS}
    with open(os.path.join(BENCHMARKS, 'results', 'benchmarks.json')) as f:
        recorded = json.load(f)['rows']
    assert recorded
    for result in recorded:
        key = (result['suite'], result['dataset'], result['images_per_class'], result['method'])
        assert key in declared, key
        row = declared[key]
        if row.external or row.published:
            assert result['distill_config'] is None and result['external'], key
        else:
            built = json.loads(json.dumps(row.config().to_dict()))
            recorded_config = result['distill_config']
            assert _common(recorded_config, built) == _common(built, recorded_config), key
        evaluation = row.evaluation()
        if evaluation is None:
            assert result['evaluation'] is None, key
        else:
            built = json.loads(json.dumps(dataclasses.asdict(evaluation)))
            assert {k: built.get(k) for k in result['evaluation']} == result['evaluation'], key


def test_committed_tables_are_what_the_results_give():
    proc = _script('run.py', '--check')
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_unknown_row_is_one_line_and_exit_2():
    proc = _script('run.py', '--rows', 'standard/nowhere/*')
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith(
        "--rows: no row matches standard/nowhere/* (see --list)")
    assert 'Traceback' not in proc.stderr


DRIVER = '''
import dataclasses, json, os, sys
import numpy as np
import rows, run
def suite(seeds):
    rows.SUITES['tiny'] = rows.Suite('tiny', '', dataclasses.replace(
        rows.STANDARD, epochs=1, width=8, seeds=seeds), dsa=True)
sets, lines, out = sys.argv[1], [], {}
row = rows.Row('tiny', 'digits', 1, 'random', 1)
npz = os.path.join(sets, run.row_id(row.key).replace('/', '_') + '.npz')
trained = lambda: sum('seed' in line for line in lines) + bool(lines.clear())
suite((0,))
out['first'] = run.run_row(row, '.', sets, [], lines.append)
out['trained'], made = trained(), os.path.getmtime(npz)
# Its Augmentation-Robust Score at the protocol's rate: the set's networks on the test split
# are the row's, read back; the rest (4 on validation, 3 on test) are trained.
from tfkip.transfer.robust import ScoreConfig
scored = run.run_row(row, '.', sets, [out['first']], lines.append, scores=ScoreConfig(
    learning_rates=(rows.STANDARD.learning_rate,), label_robust=False))
out['scores'] = [scored['scores']['accuracies']['distilled'],
                 sum('read from' in line for line in lines), trained(), scored['distilled']]
out['other'] = run.run_row(rows.Row('tiny', 'digits', 1, 'herding', 1), '.', sets,
                           [out['first']], lines.append, ran_at='loaded')
out['other_trained'] = trained()
suite((0, 1))
out['more'] = run.run_row(row, '.', sets, [], lines.append)
out['more_trained'], out['remade'] = trained(), os.path.getmtime(npz) != made
suite((0,))
out['learned'] = run.run_row(rows.Row('tiny', 'digits', 1, 'kip_fc', 1), '.', sets,
                             [out['first']], lines.append)
out['learned_trained'] = trained()
plain = rows.Row('tiny', 'digits', 1, 'random', 1, name='random, no augmentation',
                 protocol={'augmentation': ()}, set_of=row)
out['same_set'] = run.run_row(plain, '.', sets, [out['first']], lines.append)
out['same_set_trained'], out['same_set_remade'] = trained(), os.path.getmtime(npz) != made
from tfkip import sources
whole = sources.load('sklearn:digits', 'train')
# A set another tool wrote: raw pixels, learned label vectors, its own record.
np.savez(os.path.join(sets, 'ext.npz'), images=whole.images[:10].astype(np.float32),
         labels=0.9 * np.eye(10)[whole.labels[:10]] + 0.01)
json.dump({'seconds': 60.0, 'iterations': 30, 'seconds_per_iteration': 2.0},
          open(os.path.join(sets, 'ext.json'), 'w'))
out['external'] = run.run_row(rows.Row('tiny', 'digits', 1, 'dm', 0, name='another tool',
                                       external='ext'), '.', sets, [], lines.append)
out['external_table'] = run.table([out['external']], rows.SUITES['tiny'])
from tfkip.distill.sampling import hold_out
kept, held = hold_out(whole)
out['split'] = [len(whole), len(kept), len(held), len(set(map(bytes, kept.images)) &
                                                      set(map(bytes, held.images)))]
out['held_per_class'] = sorted(set(np.bincount(held.labels).tolist()))
# Another tool's timed row beside tfkip's rows of its method, cell and machine only.
def result(method, machine, mean, config=None, **more):
    return {'suite': 'standard', 'dataset': 'cifar10', 'images_per_class': 1, 'method': method,
            'machine': machine, 'distilled': {'mean': mean, 'std': 0.01}, 'distill_steps': 10,
            'distill_config': config and {'method': config}, **more}
timed = lambda seconds: [{'step': 0, 'seconds': 0.0}, {'step': 10, 'seconds': seconds}]
out['beside'] = run.beside_peers([
    result('dm, authors code', 'here', 0.25, step_seconds=2.0, external={}, history=[]),
    result('dm, factor 2', 'here', 0.40, 'dm', history=timed(5.0)),
    result('dm', 'elsewhere', 0.28, 'dm', history=timed(4.0)),
    result('frepo', 'here', 0.30, 'frepo', history=timed(4.0)),
    result('dm, siamese', 'here', 0.33, 'dm', history=timed(3.0), distilled_on='elsewhere')])
# A set distilled before `.made.json`, read back: its row's record says, else nobody.
os.remove(npz[:-len('.npz')] + '.made.json')
older = {k: v for k, v in out['first'].items() if k not in ('distilled_at', 'distilled_on')}
out['unmade'] = [run._made_record(npz[:-len('.npz')], row, row.config(), recorded
                                  ).get('distilled_at')
                 for recorded in ([dict(out['first'], distilled_at='then')], [older], [])]
# A row recorded again elsewhere from networks saved here names where they trained.
moved = dict(out['first'], machine='elsewhere', distilled_on='elsewhere')
out['machines'] = [run._machines(r) for r in (out['first'], out['more'], out['same_set'],
                                              dict(out['more'], distilled_on=None), moved)]
# The networks behind a row's robust scores, at their rates (the whole split at the protocol's).
out['scored'] = run._scored({'scores': {'learning_rates': {'distilled': 0.05, 'random': 0.01},
                                        'accuracies': {'distilled': [0.5, 0.6], 'hard': None,
                                                       'random': [0.2, 0.2], 'full': [0.9]}}})
# The held-out checks, timed apart, are not the steps' time.
checked = {'distill_seconds': 20.0, 'history': [
    {'step': 0, 'seconds': 2.0, 'eval_seconds': 2.0},
    {'step': 10, 'seconds': 17.0, 'eval_seconds': 3.0}]}
out['checked'] = [run._distill_time(checked), run._step_seconds(checked)]
# A pilot without a final KRR whose steps end past its last check: the rest is steps.
pilot = {'distill_seconds': 60.0, 'distill_steps': 20, 'distill_config': {'final_eval': False},
         'history': [{'step': 0, 'seconds': 12.0, 'eval_seconds': 12.0}]}
out['pilot'] = [run._distill_time(pilot), run._step_seconds(pilot)]
print(json.dumps(out))
'''


@pytest.mark.slow
def test_a_row_runs_resumes_and_shares_its_random_subset(tmp_path):
    proc = _script('-c', DRIVER, str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    first = out['first']
    assert first['distill_config']['method'] == 'random'
    assert len(first['distilled']['accuracies']) == 1 and 'random_from' not in first
    assert 'flip' not in first['evaluation']['augmentation']  # digits are not flipped
    assert out['trained'] == 2  # one network on the set, one on its random subset
    assert out['scores'] == [first['distilled']['accuracies'], 1, 8, first['distilled']]
    # Another row starting from the same images: its own set, the first row's random networks.
    other = out['other']
    assert other['random_from'] == 'random' and other['random'] == first['random']
    assert other['distill_config']['method'] == 'herding' and out['other_trained'] == 1
    assert other['commit'] == other['distilled_at'] == 'loaded'  # the run's, given once
    # A second seed: the set and the first seed's networks read back, only seed 1 trained.
    more = out['more']
    assert not out['remade'] and out['more_trained'] == 2
    assert more['distilled']['accuracies'][0] == first['distilled']['accuracies'][0]
    assert more['random']['accuracies'][0] == first['random']['accuracies'][0]
    assert len(more['random']['accuracies']) == 2
    # Learned labels: networks on them and on their argmax (the hard-label accuracy).
    learned = out['learned']
    assert learned['distill_config']['learn_labels'] and out['learned_trained'] == 2
    assert len(learned['hard']['accuracies']) == 1 and learned['random_from'] == 'random'
    assert 'hard' not in first
    # Another protocol on the first row's set: the set read back, networks of its own for
    # the set and for the random subset (another evaluation: not shared).
    same_set = out['same_set']
    assert not out['same_set_remade'] and out['same_set_trained'] == 2
    assert same_set['evaluation']['augmentation'] == [] and 'random_from' not in same_set
    assert same_set['distill_config'] == first['distill_config']
    # The commit and machine that distilled, and timed, a set read back: kept beside it (no
    # record names them for `more`), else its row's record's, else unknown.
    assert first['distilled_at'] == first['commit']
    assert more['distilled_at'] == same_set['distilled_at'] == first['distilled_at']
    assert first['distilled_on'] == first['machine']
    assert more['distilled_on'] == same_set['distilled_on'] == first['distilled_on']
    # A record from before the fields: its own commit stands for them.
    assert out['unmade'] == ['then', first['commit'], None]
    # Each network names the machine that trained it; the table says where the set's or the
    # networks' machine is not the row's.
    assert first['distilled']['trained_on'] == more['random']['trained_on'] == [first['machine']]
    assert out['machines'] == [first['machine'], more['machine'], same_set['machine'],
                               more['machine'] + ' (set: distilled on a machine not recorded)',
                               f"elsewhere; networks trained on {first['machine']}"]
    # Another tool's set: its networks and the random subset's in its space, its record; no
    # distillation.
    external = out['external']
    assert len(external['distilled']['accuracies']) == 1
    assert len(external['random']['accuracies']) == 1
    assert len(external['hard']['accuracies']) == 1  # learned labels: their argmax too
    assert (external['distill_steps'], external['step_seconds']) == (30, 2.0)
    assert external['distill_config'] is None and '| another tool |' in out['external_table'][2]
    # A pilot's validation split: a tenth of each class, apart from what it distils.
    assert out['split'] == [1442, 1302, 140, 0] and out['held_per_class'] == [14]
    # Beside the authors' code: tfkip's rows of its method and cell distilled on its
    # machine, with ratios.
    assert [line for line in out['beside'] if line.startswith('| dm')] == [
        '| dm, factor 2 | 40.00% ± 1.00 | 1.60 | 0.50 | 0.25 |']
    assert out['scored'] == ('robust scores from the set with augmentation 55.00% ± 5.00 (lr '
                             '0.05), the random subset with augmentation 20.00% ± 0.00 (lr '
                             '0.01), the whole training split 90.00% ± 0.00; each lr chosen on '
                             'validation')
    # 17 s to the last check, 5 of them checking, 3 more for the final KRR.
    assert out['checked'] == ['0.2 min (+0.1 checks) (+0.1)', 1.2]
    assert out['pilot'] == ['0.8 min (+0.2 checks) (+0.0)', 2.4]


# Two runs of run.py at once: each records its row into the results as they are then.
RECORD = '''
import json, sys
import run
run.RESULTS = sys.argv[1]
json.dump({'rows': [], 'pilots': [], 'notes': []}, open(run.RESULTS, 'w'))
row = lambda method: {'suite': 'standard', 'dataset': 'digits', 'images_per_class': 1,
                      'method': method}
run._record('rows', row('a'), sys.argv[2])  # the run that started first, finishing last:
run._record('pilots', row('b'), sys.argv[2])  # another run's pilot landed in between
run._record('rows', dict(row('a'), again=True), sys.argv[2])
print(open(run.RESULTS).read())
'''


def test_runs_at_once_keep_each_others_results(tmp_path):
    proc = _script('-c', RECORD, str(tmp_path / 'results.json'), str(tmp_path / 'sets'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    recorded = json.loads(proc.stdout)
    assert [r['method'] for r in recorded['pilots']] == ['b']
    assert recorded['rows'] == [{'suite': 'standard', 'dataset': 'digits',
                                 'images_per_class': 1, 'method': 'a', 'again': True}]


# A row recorded again with new random networks, and the rows that borrowed its old ones.
SHARE = '''
import json, sys
import run
run.RESULTS = sys.argv[1]
def row(method, accuracies, machine='A', **more):
    return {'suite': 'standard', 'dataset': 'digits', 'images_per_class': 1, 'method': method,
            'evaluation': None, 'machine': machine, 'distill_config': {'seed': 0},
            'random': {'accuracies': accuracies}, **more}
json.dump({'rows': [row('o', [0.5]), row('d', [0.5], random_from='o'),
                    row('e', [0.5], random_from='d'),  # borrowed from a borrower
                    row('f', [0.5], machine='B', random_from='o'),  # networks of another machine
                    row('g', [0.4], random_from='h')],  # names a row not recorded
           'pilots': [], 'notes': []}, open(run.RESULTS, 'w'))
before = run._unshared(json.load(open(run.RESULTS))['rows'])
recorded = run._record('rows', row('o', [0.6]), sys.argv[2])
print(json.dumps([before, {r['method']: [r['random']['accuracies'], r.get('random_from')]
                           for r in recorded['rows']}, run._unshared(recorded['rows'])]))
'''


def test_rows_that_share_random_networks_follow_the_row_that_trained_them(tmp_path):
    """Recording a row again carries along the rows that borrowed its random networks, where
    those can stand for theirs; `_unshared` (what `--check` reports) names the others."""
    proc = _script('-c', SHARE, str(tmp_path / 'results.json'), str(tmp_path / 'sets'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, after, unshared = json.loads(proc.stdout)
    assert before == ['standard/digits/1/e', 'standard/digits/1/g']
    assert after == {'o': [[0.6], None], 'd': [[0.6], 'o'], 'e': [[0.6], 'o'],
                     'f': [[0.5], 'o'], 'g': [[0.4], 'h']}
    assert unshared == ['standard/digits/1/f', 'standard/digits/1/g']


ELSEWHERE = '''
import dataclasses, json, os, sys
import rows, run
rows.SUITES['tiny'] = rows.Suite('tiny', '', dataclasses.replace(
    rows.STANDARD, epochs=1, width=8, seeds=(0, 1)), dsa=True)
sets, step, lines = sys.argv[1], sys.argv[2], []
row = rows.Row('tiny', 'digits', 1, 'random', 1)
where = run.Elsewhere(**{step: os.path.join(sets, step)})
result = run.run_row(row, '.', sets, [], lines.append, elsewhere=where)
print(json.dumps({'result': result, 'lines': lines,
                  'machines': result and run._machines(result)}))
'''
# The device machine's side: Keras on JAX, no TensorFlow to be had.
THERE = '''
import os, runpy, sys
sys.modules['tensorflow'] = None
os.environ['KERAS_BACKEND'] = 'jax'
sys.argv = ['device_networks.py'] + sys.argv[1:]
runpy.run_path('device_networks.py', run_name='__main__')
'''

# What does not fit the files the device tool brings back waits for another call.
LIMITED = '''
import json, os, sys
import device_networks
device_networks.FILE_BYTES, device_networks.FILES = 1, 2
device_networks.train(sys.argv[1], sys.argv[2])
print(json.dumps(sorted(os.listdir(sys.argv[2]))))
'''


@pytest.mark.slow
def test_networks_train_on_another_machine_and_are_tested_here(tmp_path):
    """`run.py --jobs` writes the seeds to train, `device_networks.py` trains them on JAX
    without TensorFlow, `run.py --weights` tests them here and names where they trained."""
    jobs = _script('-c', ELSEWHERE, str(tmp_path), 'jobs')
    assert jobs.returncode == 0, jobs.stderr[-3000:]
    out = json.loads(jobs.stdout.strip().splitlines()[-1])
    assert out['result'] is None and not any('protocol, lr ' in line for line in out['lines'])
    written = sorted(f for f in os.listdir(tmp_path / 'jobs') if f.endswith('.json'))
    # The 'random' method's set is its random subset: the two jobs share one data file.
    assert len(os.listdir(tmp_path / 'jobs')) == 3 and [json.load(open(tmp_path / 'jobs' / f))['seeds']
                                  for f in written] == [[0, 1], [0, 1]]
    there = _script('-c', THERE, str(tmp_path / 'jobs'), str(tmp_path / 'weights'))
    assert there.returncode == 0, there.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / 'weights')) == ['trained.json', 'weights_0.npz']
    # Trained here, the weights name this machine: name the device machine instead.
    record = tmp_path / 'weights' / 'trained.json'
    record.write_text(json.dumps({name: {seed: dict(one, machine='the device machine')
                                         for seed, one in seeds.items()}
                                  for name, seeds in json.loads(record.read_text()).items()}))
    limited = _script('-c', LIMITED, str(tmp_path / 'jobs'), str(tmp_path / 'few'))
    assert limited.returncode == 0, limited.stderr[-3000:]
    assert json.loads(limited.stdout.strip().splitlines()[-1]) == [
        'trained.json', 'weights_0.npz', 'weights_1.npz']
    assert 'left for another call (2 files of weights)' in limited.stderr
    assert sum(len(seeds) for seeds in json.load(open(tmp_path / 'few' / 'trained.json')
                                                  ).values()) == 2
    back = _script('-c', ELSEWHERE, str(tmp_path), 'weights')
    assert back.returncode == 0, back.stderr[-3000:]
    out = json.loads(back.stdout.strip().splitlines()[-1])
    for what in ('distilled', 'random'):
        assert len(out['result'][what]['accuracies']) == 2
        assert out['result'][what]['trained_on'] == ['the device machine']
    assert sum('(trained on ' in line for line in out['lines']) == 4
    assert not any('protocol, lr ' in line for line in out['lines'])  # none trained here
    assert out['machines'].count('; networks trained on ') == 1
    usage = _script('run.py', '--rows', 'labels/digits/10/rfad', '--weights', str(tmp_path))
    assert usage.returncode == 2 and usage.stderr.strip().splitlines()[-1].endswith(
        f'--weights: no trained.json in {tmp_path} (device_networks.py writes it)')


SAME_START = '''
import json
import run
def row(machine, **networks):
    return {'dataset': 'cifar10', 'images_per_class': 10, 'evaluation': None,
            'machine': machine, 'distill_config': {'seed': 0},
            **{part: {'trained_on': on} for part, on in networks.items()}}
lender = row('A')  # networks from before their machine was kept: the row's
print(json.dumps([run._same_start(lender, row('A')), run._same_start(lender, row('B')),
                  run._same_start(lender, row('B', distilled=['A'])),
                  run._same_start(row('B', random=['A']), row('A')),
                  run._same_start(lender, row('A', distilled=['A', 'B']))]))
'''


def test_random_networks_are_shared_only_from_the_machine_of_the_set_networks():
    """A row recorded again on another machine from saved networks compares its set's
    networks with random networks trained where they were, not where it is recorded."""
    proc = _script('-c', SAME_START)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == [True, False, True, True, False]


MACHINE_OF = '''
import json
import run
from tfkip.transfer.train import TransferConfig
evaluation = TransferConfig(seeds=(0, 1))
def record(machine, accuracies, **more):
    return {'machine': machine, 'evaluation': run._read_back(run.dataclasses.asdict(evaluation)),
            'random': {'accuracies': accuracies, **more}}
read_back = {'mean': 0.3, 'std': 0.1, 'accuracies': [0.2, 0.4]}  # a file without trained_on
print(json.dumps([run._machine_of(read_back, record('A', [0.2, 0.4]), 'random', evaluation),
                  run._machine_of(read_back, record('A', [0.2, 0.41]), 'random', evaluation),
                  run._machine_of(read_back, record('A', [0.2, 0.4], trained_on=['B']),
                                  'random', evaluation),
                  run._machine_of(read_back, {**record('A', [0.2, 0.4]), 'random_from': 'x'},
                                  'random', evaluation),
                  run._machine_of(read_back, {}, 'random', evaluation),
                  run._machine_of({**read_back, 'trained_on': ['C']}, record('A', [0.2, 0.4]),
                                  'random', evaluation)]))
'''


def test_networks_saved_before_their_machine_was_kept_take_it_from_their_record():
    """Networks whose file predates 'trained_on' are the machine's that trained them in
    the row's earlier record when it lists their accuracies, not the recording machine's."""
    proc = _script('-c', MACHINE_OF)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    read_back = {'mean': 0.3, 'std': 0.1, 'accuracies': [0.2, 0.4]}
    assert json.loads(proc.stdout) == [
        {**read_back, 'trained_on': ['A']}, read_back, {**read_back, 'trained_on': ['B']},
        read_back, read_back, {**read_back, 'trained_on': ['C']}]


NAMES = '''
import dataclasses, json, os
import run
from tfkip.formats import distilled_set
checked = []
for result in json.load(open(run.RESULTS))['rows']:
    base = os.path.join('results', 'sets', run.row_id(run.key_of(result)).replace('/', '_'))
    if not os.path.exists(base + '.npz'):
        continue
    images, labels = distilled_set.load(base).training_set()
    evaluation = run._evaluation(result['evaluation'])
    named = run._named(evaluation, images, labels, base + '.networks')
    assert os.path.exists(named), named
    assert json.load(open(named))['0'] == result['distilled']['accuracies'][0], named
    other = {'keras': 'torch'}.get(evaluation.init, 'keras')
    assert run._named(dataclasses.replace(evaluation, init=other), images, labels,
                      base + '.networks') != named
    checked.append(base)
print(len(checked))
'''


def test_networks_keep_their_names_when_a_default_changes():
    """Each committed set's networks are found under the name its recorded evaluation gives
    (the protocol's default `init` changed after they were named), and another `init` names
    other networks."""
    proc = _script('-c', NAMES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert int(proc.stdout.split()[-1]) >= 2
