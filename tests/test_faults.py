"""`tfkip run` killed with SIGKILL during each stage, then rerun: the run completes, its
distilled set equals an uninterrupted run's, and the run directory holds no leftovers."""
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # eight small pipeline runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ['--source', 'sklearn:digits', '--ipc', '1', '--steps', '6', '--eval-every', '3',
         '--checkpoint-every', '2', '--target-batch-size', '100', '--transfer-epochs', '2',
         '--transfer-seeds', '0']
LEFTOVER = re.compile(r'.*\.tmp-\d+.*|incomplete\..*')


def start(run_dir):
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    return subprocess.Popen([sys.executable, '-m', 'tfkip', 'run', *SMALL, '--run-dir',
                             str(run_dir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


def finished(run_dir):
    proc = start(run_dir)
    output = proc.communicate(timeout=900)[0]
    assert proc.returncode == 0, output
    with np.load(run_dir / 'distilled.npz') as f:
        return {k: f[k] for k in f.files}, output


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    return finished(tmp_path_factory.mktemp('straight'))[0]


def test_killed_in_every_stage_in_turn_then_rerun_ends_as_an_uninterrupted_run(uninterrupted,
                                                                              tmp_path):
    """One run directory, killed once in each stage: each rerun resumes from what the killed
    one left (skipping the stages done) and is killed in the next stage, the last one
    finishes. So every stage is killed and recovered from, in one chain of short runs."""
    run_dir = tmp_path / 'run'
    # (stage, the line to wait for, then seconds to wait): distill is killed after its step-3
    # evaluation (a checkpoint at step 2 behind it, steps 4-6 ahead) whatever the machine's
    # speed; the short stages as soon as they start.
    for stage, cue, delay in (('preprocess', '[preprocess] running', 2.0),
                              ('distill', 'step 3:', 0.0), ('publish', '[publish] running', 0.0),
                              ('transfer', '[transfer] running', 1.0),
                              ('baseline', '[baseline] running', 1.0),
                              ('report', '[report] running', 0.0)):
        proc = start(run_dir)
        for line in proc.stdout:
            if cue in line:
                time.sleep(delay)
                proc.kill()  # SIGKILL: nothing is cleaned up
                break
        proc.communicate(timeout=60)
        assert proc.returncode == -9, f'the run ended before it could be killed in {stage}'
    arrays, output = finished(run_dir)
    for key in ('images', 'labels'):
        np.testing.assert_array_equal(arrays[key], uninterrupted[key])
    left = [os.path.join(root, name) for root, dirs, files in os.walk(run_dir)
            for name in dirs + files if LEFTOVER.fullmatch(name)]
    assert left == []
    assert f"data_dir='{run_dir}/tfds'" in output  # the printed tfds.load line is absolute
