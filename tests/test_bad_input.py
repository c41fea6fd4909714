"""Every bad input through the command line's `main`: exit status 2, one line on stderr that
names the flag or the file, and no traceback. One case of each command runs as the real
`tfkip` in a fresh process (which also checks that nothing else reaches stderr as the
libraries start); the others call `tfkip.cli.main` in this process, the same code after
the imports, without a TensorFlow start-up each."""
import fcntl
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import make_images

pytestmark = pytest.mark.slow  # processes that each start TensorFlow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tfkip(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    return subprocess.run([sys.executable, '-m', 'tfkip', *map(str, args)], capture_output=True,
                          text=True, timeout=600, cwd=cwd, env=env)


def save_npz(path, train_images, train_labels, test, **extra):
    np.savez(path, train_images=train_images * 40 + 100, train_labels=train_labels,
             test_images=test.images * 40 + 100, test_labels=test.labels, **extra)
    return str(path)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Good and bad inputs, made once: files, folders, a distilled set."""
    root = tmp_path_factory.mktemp('inputs')
    train = make_images(8, num_classes=10, seed=0)
    test = make_images(4, num_classes=10, seed=1)
    d = {'root': root, 'good': save_npz(root / 'good.npz', train.images, train.labels, test)}
    raw = open(d['good'], 'rb').read()
    (root / 'truncated.npz').write_bytes(raw[:len(raw) // 2])
    d['truncated'] = str(root / 'truncated.npz')
    nan = train.images.copy()
    nan[5, 2, 2, 0] = np.nan
    d['nan'] = save_npz(root / 'nan.npz', nan, train.labels, test)
    labels = train.labels.copy()
    labels[7] = 12
    d['label12'] = save_npz(root / 'label12.npz', train.images, labels, test)
    np.savez(root / 'flat.npz', train_images=np.zeros((6, 8)), train_labels=np.arange(6) % 3)
    d['flat'] = str(root / 'flat.npz')
    np.savez(root / 'floatlabels.npz', train_images=np.zeros((6, 4, 4, 1)),
             train_labels=np.arange(6) / 2)
    d['floatlabels'] = str(root / 'floatlabels.npz')
    np.savez(root / 'emptytest.npz', train_images=train.images, train_labels=train.labels,
             test_images=test.images[:0], test_labels=test.labels[:0])
    d['emptytest'] = str(root / 'emptytest.npz')
    for name, problem in (('corrupt', 'corrupt'), ('mixed', 'mixed'), ('emptyclass', 'empty')):
        folder = root / name
        for split in ('train', 'test'):
            for c in ('a', 'b'):
                (folder / split / c).mkdir(parents=True)
                for i in range(3):
                    size = (6, 6) if (problem == 'mixed' and c == 'b' and i == 1) else (4, 4)
                    Image.fromarray(np.full(size + (3,), 40 * i, np.uint8)).save(
                        folder / split / c / f'{i}.png')
        if problem == 'corrupt':
            (folder / 'train' / 'b' / '2.png').write_bytes(b'not a png')
        if problem == 'empty':
            for f in (folder / 'train' / 'b').iterdir():
                f.unlink()
        d[name] = str(folder)
    d['unwritable'] = d['good'] + '/inside-a-file'  # unwritable even for root
    out = str(root / 'set')
    made = tfkip('distill', '--source', d['good'], '--out', out, '--method', 'random', '--ipc',
                 '1', '--architecture', 'convnet', '--depth', '1')
    assert made.returncode == 0, made.stderr
    d['artifact'] = out + '.npz'
    sidecar = json.load(open(out + '.json'))
    sidecar['config']['kernel']['depth'] = 4
    edited = root / 'edited'
    for suffix in ('.npz', '.preprocess.npz'):
        (root / f'edited{suffix}').write_bytes(open(out + suffix, 'rb').read())
    (root / 'edited.json').write_text(json.dumps(sidecar))
    d['edited'] = str(edited) + '.npz'
    np.savez(root / 'bare.npz', images=np.zeros((3, 8, 8, 1), np.float32),
             labels=np.eye(3, dtype=np.float32))
    d['bare'] = str(root / 'bare.npz')
    np.savez(root / 'external.npz', images=train.images[:10], labels=np.arange(10))
    d['external'] = str(root / 'external.npz')
    (root / 'list.yaml').write_text('- 1\n- 2\n')
    (root / 'unknown.yaml').write_text('ipcs: 2\n')
    (root / 'broken.yaml').write_text('ipc: [1,\n')
    (root / 'zero.yaml').write_text('ipc: 0\n')
    for name in ('list', 'unknown', 'broken', 'zero'):
        d[f'{name}_yaml'] = str(root / f'{name}.yaml')
    return d


# (id, command line with {placeholders} from `data`, what the one line must say)
CASES = [
    ('truncated npz', 'distill --source {truncated} --out {root}/x', 'truncated.npz: not a readable .npz'),
    ('unwritable --out', 'distill --source {good} --out {unwritable}/x', '--out'),
    ('unwritable --output', 'preprocess --source {good} --output {unwritable}/p', '--output'),
    ('unwritable --run-dir', 'run --source {good} --dataset kip_digits --run-dir {unwritable}/r', '--run-dir'),
    ('unwritable --data-dir', 'publish --artifact {artifact} --dataset kip_digits --data-dir {unwritable}/t', '--data-dir'),
    ('NaN pixel in preprocess', 'preprocess --source {nan} --output {root}/pnan', 'nan.npz[train]: example 0000000005 has NaN'),
    ('NaN pixel in distill', 'distill --source {nan} --out {root}/x', 'nan.npz[train]: example 0000000005 has NaN'),
    ('edited sidecar, evaluate', 'evaluate --artifact {edited} --source {good}', 'edited.json does not match its own checksum'),
    ('edited sidecar, publish', 'publish --artifact {edited} --dataset kip_digits --data-dir {root}/t', 'edited.json does not match'),
    ('unknown --dataset in run', 'run --source {good} --dataset kip_mydata --run-dir {root}/r1', "unknown --dataset 'kip_mydata'"),
    ('label out of range', 'distill --source {label12} --out {root}/x', 'train_labels[7] is 12, out of range'),
    ('typo in a preprocess option', 'preprocess --source {good} --output {root}/p --zca-rg 3', "'--zca-rg'"),
    ('evaluate without a sidecar', 'evaluate --artifact {bare} --source {good}', 'give the --architecture'),
    ('a field named as its flag', 'distill --source {good} --out {root}/x --ipc 0', '--ipc must be an integer >= 1'),
    ('a config-file value names the file', 'run --config-file {zero_yaml} --source {good} --dataset kip_digits --run-dir {root}/r2', 'zero.yaml'),
    ('corrupt image', 'distill --source {corrupt} --out {root}/x', 'b/2.png'),
    ('corrupt image in the Beam stage', 'preprocess --source {corrupt} --output {root}/p2', 'b/2.png'),
    ('label out of range in the Beam stage', 'preprocess --source {label12} --output {root}/p3', 'train_labels[7] is 12'),
    ('mixed image sizes', 'distill --source {mixed} --out {root}/x --ipc 1', 'mixed image sizes'),
    ('empty class', 'distill --source {emptyclass} --out {root}/x', 'holds no images'),
    ('missing split', 'distill --source {good} --out {root}/x --eval-split valid', "split 'valid'"),
    ('too few images per class', 'distill --source {good} --out {root}/x --ipc 9', '--ipc needs 9 examples'),
    ('empty split', 'distill --source {emptytest} --out {root}/x', 'emptytest.npz[test]: the split holds no examples'),
    ('empty split in the Beam stage', 'preprocess --source {emptytest} --output {root}/p4', 'emptytest.npz[test]: the split holds no examples'),
    ('unknown Beam runner', 'preprocess --source {good} --output {root}/p5 --runner FooRunner', '--runner FooRunner: Unexpected pipeline runner'),
    ('runner options missing', 'preprocess --source {good} --output {root}/p6 --runner DataflowRunner', '--runner DataflowRunner: Missing GCS path option: temp_location;'),
    ('a negative seed', 'transfer --external-set {external} --test-source {good} --seeds -1', '--seeds must be integers in [0, 2**32), got [-1]'),
    ('a score option without the scores', 'transfer --external-set {external} --test-source {good} --full-epochs 3', '--full-epochs: for the robust scores, which --scores asks for'),
    ('a full accuracy without the scores', 'transfer --external-set {external} --test-source {good} --full-accuracy 0.9', '--full-accuracy: for the robust scores'),
    ('a score option without the scores, run', 'run --source {good} --dataset kip_digits --run-dir {root}/r4 --transfer-lrs-lambda 0.3', '--transfer-lrs-lambda: for the robust scores, which --transfer-scores asks for'),
    ('wrong shapes', 'distill --source {flat} --out {root}/x --eval-split train', 'must be [N, H, W, C]'),
    ('float labels', 'distill --source {floatlabels} --out {root}/x --eval-split train', 'integers'),
    ('truncated artifact', 'evaluate --artifact {truncated} --source {good}', 'truncated.npz'),
    ('unknown method', 'distill --source {good} --out {root}/x --method foo', "--method: invalid choice: 'foo'"),
    ('unknown publish dataset', 'publish --artifact {artifact} --dataset kip_foo --data-dir {root}/t', "invalid choice: 'kip_foo'"),
    ('a negative number', 'distill --source {good} --out {root}/x --steps -1', '--steps must be an integer >= 0'),
    ('a zero learning rate', 'distill --source {good} --out {root}/x --learning-rate 0', '--learning-rate must be > 0'),
    ('not a number', 'distill --source {good} --out {root}/x --steps many', "--steps: invalid int value: 'many'"),
    ('config file not a mapping', 'run --config-file {list_yaml} --run-dir {root}/r3', 'must map option names'),
    ('config file unknown key', 'run --config-file {unknown_yaml} --run-dir {root}/r3', 'unknown option(s) ipcs'),
    ('config file unreadable', 'run --config-file {broken_yaml} --run-dir {root}/r3', 'not a readable YAML'),
    ('missing source file', 'distill --source {root}/nope.npz --out {root}/x', 'nope.npz'),
    ('unknown TFDS config', 'transfer --dataset kip_digits/dm_convnet_fixedlabel_ipc1 --test-source {good}',
     "no config 'dm_convnet_fixedlabel_ipc1'; the nearest: dm_convnet_fixedlabels_ipc1,"),
]


# The cases run as real processes: one per command.
IN_A_PROCESS = ('truncated npz', 'corrupt image in the Beam stage', 'edited sidecar, evaluate',
                'edited sidecar, publish', 'config file unreadable', 'unknown method')


def in_this_process(argv, capfd):
    """(exit status, stderr) of `tfkip.cli.main(argv)`, as the command would end."""
    from tfkip import cli
    capfd.readouterr()
    try:
        status = cli.main(argv)
    except SystemExit as e:  # argparse's usage errors
        status = e.code
    return status, capfd.readouterr().err


@pytest.mark.parametrize('name,command,message', CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_it(data, name, command, message, capfd):
    argv = command.format(**data).split()
    if name in IN_A_PROCESS:
        proc = tfkip(*argv)
        status, stderr = proc.returncode, proc.stderr
    else:
        status, stderr = in_this_process(argv, capfd)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert status == 2, stderr
    assert len(lines) == 1, stderr
    assert message in lines[0] and 'Traceback' not in stderr


def test_a_second_run_on_a_locked_run_directory_is_refused(data, tmp_path):
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    with open(run_dir / '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running `tfkip run` holds it
        lock.write('4242')
        lock.flush()
        proc = tfkip('run', '--source', data['good'], '--dataset', 'kip_digits', '--run-dir',
                     run_dir)
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1, proc.stderr
    assert 'in use by another tfkip run (process 4242)' in proc.stderr


def test_an_artifact_moves_as_a_unit_and_flags_override_its_sidecar(data, tmp_path):
    for suffix in ('.npz', '.json', '.preprocess.npz'):
        (tmp_path / f'renamed{suffix}').write_bytes(
            open(data['artifact'][:-4] + suffix, 'rb').read())
    renamed = str(tmp_path / 'renamed.npz')
    proc = tfkip('evaluate', '--artifact', renamed, '--source', data['good'])
    assert proc.returncode == 0 and proc.stderr == '', proc.stderr
    recorded = json.loads(proc.stdout.splitlines()[-1])
    assert recorded['reg'] == 1e-6 and recorded['kernel']['depth'] == 1
    proc = tfkip('evaluate', '--artifact', renamed, '--source', data['good'], '--reg', '5e-3')
    assert json.loads(proc.stdout.splitlines()[-1])['reg'] == 5e-3
    proc = tfkip('publish', '--artifact', renamed, '--dataset', 'kip_digits', '--data-dir',
                 tmp_path / 'tfds')
    assert proc.returncode == 0, proc.stderr


def test_a_config_file_may_skip_one_stage_by_name_and_coresets_publish_everywhere():
    from tfds_builders import DATASETS
    from tfkip.pipeline.config import RunConfig
    from tfkip.publish import builder_class
    config = RunConfig.from_options({'source': 'sklearn:digits', 'run_dir': 'r',
                                     'skip': 'transfer'})
    assert config.skip == ('transfer',)
    for dataset in DATASETS:
        names = {c.name for c in builder_class(dataset).BUILDER_CONFIGS}
        for method in ('random', 'herding', 'kcenter', 'dd_convnet'):
            assert names & {f'{method}_ipc1', f'{method}_zca_ipc1'}, (dataset, method)



def test_the_real_process_cases_are_cases():
    assert set(IN_A_PROCESS) <= {name for name, _, _ in CASES}
