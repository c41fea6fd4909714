"""`tfkip run` killed with SIGKILL during each stage, then rerun: the run completes, its
distilled set equals an uninterrupted run's, and the run directory holds no leftovers."""
import os
import re
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # seven small pipeline runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEFTOVER = re.compile(r'.*\.tmp-\d+.*|incomplete\..*')


def start(run_dir, config):
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    return subprocess.Popen([sys.executable, '-m', 'tfkip', 'run', '--config-file', str(config),
                             '--run-dir', str(run_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def test_killed_in_every_stage_in_turn_then_rerun_ends_as_an_uninterrupted_run(
        small_run, small_run_config, tmp_path):
    """conftest's SMALL_RUN in one run directory, killed once in each stage: each rerun
    resumes from what the killed one left (skipping the stages done) and is killed in the
    next stage, the last one finishes. So every stage is killed and recovered from, in one
    chain of short runs."""
    run_dir = tmp_path / 'run'
    # (stage, the line to wait for, then seconds to wait): distill is killed after its step-5
    # evaluation (a checkpoint at step 4 behind it, steps 6-10 ahead) whatever the machine's
    # speed; the short stages as soon as they start.
    for stage, cue, delay in (('preprocess', '[preprocess] running', 2.0),
                              ('distill', 'step 5:', 0.0), ('publish', '[publish] running', 0.0),
                              ('transfer', '[transfer] running', 1.0),
                              ('baseline', '[baseline] running', 1.0),
                              ('report', '[report] running', 0.0)):
        proc = start(run_dir, small_run_config)
        for line in proc.stdout:
            if cue in line:
                time.sleep(delay)
                proc.kill()  # SIGKILL: nothing is cleaned up
                break
        proc.communicate(timeout=60)
        assert proc.returncode == -9, f'the run ended before it could be killed in {stage}'
    proc = start(run_dir, small_run_config)
    output = proc.communicate(timeout=900)[0]
    assert proc.returncode == 0, output
    with np.load(run_dir / 'distilled.npz') as got, \
            np.load(small_run[0] / 'distilled.npz') as want:  # the same, uninterrupted
        for key in ('images', 'labels'):
            np.testing.assert_array_equal(got[key], want[key])
    left = [os.path.join(root, name) for root, dirs, files in os.walk(run_dir)
            for name in dirs + files if LEFTOVER.fullmatch(name)]
    assert left == []
    assert f"data_dir='{run_dir}/tfds'" in output  # the printed tfds.load line is absolute
