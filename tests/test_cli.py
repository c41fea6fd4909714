"""The command line: end to end on a tiny .npz, helpful --help, errors without tracebacks."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfkip import cli
from tfkip.formats import distilled_set
from conftest import make_images


@pytest.fixture()
def source(tmp_path):
    train, test = make_images(8, seed=0), make_images(4, seed=1)
    path = tmp_path / 'tiny.npz'
    np.savez(path, train_images=train.images * 40 + 100, train_labels=train.labels,
             test_images=test.images * 40 + 100, test_labels=test.labels,
             class_names=np.array(train.class_names))
    return str(path)


def test_distill_then_evaluate(source, tmp_path, capsys):
    out = str(tmp_path / 'run' / 'distilled')
    args = ['distill', '--source', source, '--out', out, '--ipc', '2', '--steps', '4',
            '--target-batch-size', '12', '--eval-every', '2', '--checkpoint-every', '2']
    assert cli.main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary['steps'] == 4 and summary['accuracy'] == 1.0
    artifact = distilled_set.load(out + '.npz')
    assert artifact.images.shape == (6, 8, 8, 1)
    meta = artifact.metadata
    assert meta.preprocessing['prepared'] is False
    assert meta.preprocessing['config']['standardize'] is True
    assert meta.config['images_per_class'] == 2 and meta.class_names == ['c0', 'c1', 'c2']
    assert os.path.exists(out + '.ckpt/checkpoint.npz')

    assert cli.main(['evaluate', '--artifact', out + '.npz', '--source', source]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated['accuracy'] == pytest.approx(summary['accuracy'])
    assert evaluated['mse'] == pytest.approx(summary['mse'], rel=1e-5)


def test_kip_stage_reads_the_beam_stage_output(source, tmp_path, capsys):
    prepared = str(tmp_path / 'prepared')
    assert cli.main(['preprocess', '--source', source, '--output', prepared,
                     '--zca-reg', '0.1']) == 0
    out = str(tmp_path / 'distilled')
    assert cli.main(['distill', '--source', prepared, '--out', out, '--ipc', '2', '--steps',
                     '2', '--target-batch-size', '12', '--eval-every', '0']) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    prep = distilled_set.load(out + '.npz').metadata.preprocessing
    assert prep['prepared'] is True and prep['config']['zca_reg'] == 0.1
    assert cli.main(['evaluate', '--artifact', out + '.npz', '--source', prepared]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated['mse'] == pytest.approx(summary['mse'], rel=1e-5)
    assert cli.main(['evaluate', '--artifact', out + '.npz', '--source', source]) == 2
    assert 'distilled from a Beam-prepared folder' in capsys.readouterr().err


def test_label_solve_from_the_command_line(source, tmp_path, capsys):
    assert cli.main(['distill', '--source', source, '--out', str(tmp_path / 'ls'),
                     '--method', 'ls', '--ipc', '1']) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])['steps'] == 0


def test_rfad_from_the_command_line(source, tmp_path, capsys):
    out = str(tmp_path / 'rfad')
    assert cli.main(['distill', '--source', source, '--out', out, '--method', 'rfad',
                     '--kernel', 'nngp', '--architecture', 'convnet', '--loss', 'platt',
                     '--rf-models', '2', '--rf-width', '8', '--ipc', '1', '--steps', '3',
                     '--target-batch-size', '6', '--eval-every', '0']) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])['steps'] == 3
    meta = distilled_set.load(out + '.npz').metadata
    assert meta.method == 'rfad' and meta.extra['platt_temperature'] > 0
    assert meta.config['options']['rf_models'] == 2 and meta.config['loss'] == 'platt'


@pytest.mark.parametrize('extra,message', [
    (['--ipc', '9'], '--ipc needs 9 examples of every class'),
    (['--method', 'rfad'], "RFAD's random features approximate the NNGP kernel"),
    (['--depth', '0'], 'depth must be an integer >= 1'),
    (['--architecture', 'convnet', '--depth', '4'], 'at least 16'),
])
def test_bad_input_is_one_clear_line(source, tmp_path, capsys, extra, message):
    assert cli.main(['distill', '--source', source, '--out', str(tmp_path / 'x')] + extra) == 2
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err


@pytest.mark.slow
def test_missing_source_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, '-m', 'tfkip', 'distill', '--source',
                           str(tmp_path / 'nope.npz'), '--out', str(tmp_path / 'x')],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert 'error: file not found' in proc.stderr and 'Traceback' not in proc.stderr


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(['distill', '--help'])
    text = capsys.readouterr().out
    for option in ('--source', '--ipc', '--steps', '--learning-rate', '--target-batch-size',
                   '--reg', '--architecture', '--kernel', '--workdir', '--no-learn-labels',
                   '--lr-schedule', '--final-label-solve', '--learn-hparams', '--method',
                   '--loss', '--rf-models', '--rf-width'):
        assert option in text


def test_options_are_the_config_fields_with_their_defaults_and_choices():
    # Generated from the dataclasses: every field is an option of the same name, and giving
    # none yields the library's defaults.
    import dataclasses
    from tfkip.distill import methods
    from tfkip.distill.config import LOSSES, DistillConfig
    from tfkip.kernels.architectures import ARCHITECTURES
    from tfkip.kernels.config import KernelConfig
    from tfkip.preprocess import PreprocessConfig
    parser = cli.build_parser()
    args = parser.parse_args(['distill', '--source', 's', '--out', 'o'])
    given = vars(args)
    assert DistillConfig.from_options(given) == DistillConfig()
    fields = [f.name for cls in (KernelConfig, PreprocessConfig,
                                 *(m.Options for m in methods.REGISTRY.values()))
              for f in dataclasses.fields(cls)]
    fields += [f.name for f in dataclasses.fields(DistillConfig)
               if f.name not in ('kernel', 'options')]
    assert set(fields) <= set(parser.names['distill']) and set(fields) <= set(given)
    sub = parser._subparsers._group_actions[0].choices['distill']
    choices = {a.dest: set(a.choices) for a in sub._actions if a.choices}
    assert choices['method'] == set(methods.REGISTRY)
    assert choices['loss'] == set(LOSSES)
    assert choices['dd_architecture'] == choices['architecture'] == set(ARCHITECTURES)
