"""tfkip's stages as Kubeflow Pipelines components: compiled to pipeline YAML, and run on
scikit-learn's digits by KFP's local subprocess runner, giving what `tfkip run` gives."""
import glob
import json
import os

import numpy as np
import pytest
import yaml

from tfkip import cli

kfp = pytest.importorskip('kfp')  # the `kfp` extra
from kfp import compiler, local  # noqa: E402

from tfkip.pipeline.kubeflow import tfkip_pipeline  # noqa: E402

pytestmark = [
    pytest.mark.slow,  # end to end: the full suite runs it
    # The local runner runs the components here, not in their image: as intended.
    pytest.mark.filterwarnings('ignore:You may be attemping to run a task:RuntimeWarning')]

OPTIONS = {'source': 'sklearn:digits', 'ipc': 1, 'steps': 10, 'eval_every': 5,
           'eval_size': 100, 'target_batch_size': 100, 'transfer_steps': 3,
           'transfer_width': 8, 'transfer_seeds': [0]}
STAGES = ['preprocess', 'distill', 'publish', 'transfer', 'baseline']


def test_the_pipeline_compiles_to_yaml_with_a_typed_component_per_stage(tmp_path):
    compiler.Compiler().compile(tfkip_pipeline, str(tmp_path / 'tfkip_pipeline.yaml'))
    spec = yaml.safe_load((tmp_path / 'tfkip_pipeline.yaml').read_text())
    tasks = spec['root']['dag']['tasks']
    assert sorted(tasks) == sorted(STAGES)
    outputs = {name: spec['components'][task['componentRef']['name']]['outputDefinitions']
               ['artifacts'] for name, task in tasks.items() if name != 'transfer'}
    assert outputs['distill']['distilled']['artifactType']['schemaTitle'] == 'system.Dataset'
    assert outputs['distill']['metrics']['artifactType']['schemaTitle'] == 'system.Metrics'
    assert outputs['publish']['published']['artifactType']['schemaTitle'] == 'system.Dataset'


def test_the_local_kfp_run_gives_what_tfkip_run_gives(tmp_path):
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / 'kfp'))
    tfkip_pipeline(config=json.dumps(OPTIONS))
    (root,) = glob.glob(str(tmp_path / 'kfp' / 'tfkip-*'))
    produced = lambda stage: json.load(open(os.path.join(root, stage, 'executor_output.json')))[
        'artifacts']
    metrics = lambda stage: produced(stage)['metrics']['artifacts'][0]['metadata']

    (tmp_path / 'run.json').write_text(json.dumps(OPTIONS))
    assert cli.main(['run', '--config-file', str(tmp_path / 'run.json'),
                     '--run-dir', str(tmp_path / 'run')]) == 0
    report = json.loads((tmp_path / 'run' / 'report.json').read_text())

    distilled = produced('distill')['distilled']['artifacts'][0]['uri']
    with np.load(os.path.join(distilled, 'distilled.npz')) as a, \
            np.load(tmp_path / 'run' / 'distilled.npz') as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])
    assert metrics('distill')['krr_accuracy'] == report['krr_accuracy']
    (transfer,), (baseline,) = report['transfer'], report['baseline_transfer']
    assert metrics('transfer')['results.0.accuracies.0'] == transfer['accuracies'][0]
    assert metrics('baseline')['transfer.results.0.accuracies.0'] == baseline['accuracies'][0]
    assert metrics('baseline')['krr.accuracy'] == report['baseline_krr_accuracy']
    published = produced('publish')['published']['artifacts'][0]['metadata']
    assert published['dataset'] == report['published']['dataset']
