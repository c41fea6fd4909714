"""tfkip's stages as Kubeflow Pipelines components: compiled to pipeline YAML, and run on
scikit-learn's digits by KFP's local subprocess runner, giving what `tfkip run` gives."""
import glob
import json
import os

import numpy as np
import pytest
import yaml

from conftest import SMALL_RUN

kfp = pytest.importorskip('kfp')  # the `kfp` extra
from kfp import compiler, local  # noqa: E402

from tfkip.pipeline.kubeflow import tfkip_pipeline  # noqa: E402

pytestmark = [
    pytest.mark.slow,  # end to end: the full suite runs it
    # The local runner runs the components here, not in their image: as intended.
    pytest.mark.filterwarnings('ignore:You may be attemping to run a task:RuntimeWarning')]

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


def test_the_local_kfp_run_gives_what_tfkip_run_gives(tmp_path, small_run):
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / 'kfp'))
    tfkip_pipeline(config=json.dumps(SMALL_RUN))
    (root,) = glob.glob(str(tmp_path / 'kfp' / 'tfkip-*'))
    produced = lambda stage: json.load(open(os.path.join(root, stage, 'executor_output.json')))[
        'artifacts']
    metrics = lambda stage: produced(stage)['metrics']['artifacts'][0]['metadata']

    run_dir, _ = small_run  # `tfkip run` with the same options
    report = json.loads((run_dir / 'report.json').read_text())

    distilled = produced('distill')['distilled']['artifacts'][0]['uri']
    with np.load(os.path.join(distilled, 'distilled.npz')) as a, \
            np.load(run_dir / 'distilled.npz') as b:
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
