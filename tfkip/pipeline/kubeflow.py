"""tfkip's stages as Kubeflow Pipelines v2 components, and `tfkip_pipeline` chaining them.

    from kfp import compiler
    from tfkip.pipeline.kubeflow import tfkip_pipeline
    compiler.Compiler().compile(tfkip_pipeline, 'tfkip_pipeline.yaml')

Each component runs one stage of `tfkip run` (`tfkip.pipeline.task`) with the run's
options as the JSON text of a config file (`config`, e.g. '{"source": "sklearn:digits",
"steps": 120}'), reading its upstream artifacts and writing its own:

    preprocess(config)                     -> prepared: Dataset (the Beam stage's folder)
    distill(config, prepared)              -> distilled: Dataset (the artifact), metrics
    publish(config, distilled)             -> published: Dataset (a TFDS data_dir)
    transfer(config, prepared, published)  -> metrics: each protocol's accuracies
    baseline(config, prepared)             -> metrics: the random subset's

so a pipeline gives what `tfkip run` gives for the same options. The components run in
`IMAGE` (an image with `tfkip[kfp]` installed: `pipelines/Dockerfile`; set
`TFKIP_KFP_IMAGE` before importing this module to name another) and install nothing at
start. Needs the `kfp` extra.
"""
import os

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

IMAGE = os.environ.get('TFKIP_KFP_IMAGE', 'tfkip:latest')
component = dsl.component(base_image=IMAGE, install_kfp_package=False)


# The components: each body is the source KFP ships, so it imports what it uses.

@component
def preprocess(config: str, prepared: Output[Dataset]):
    from tfkip.pipeline.task import run_stage
    run_stage('preprocess', config, prepared.path)


@component
def distill(config: str, prepared: Input[Dataset], distilled: Output[Dataset],
            metrics: Output[Metrics]):
    from tfkip.pipeline.task import log_metrics, run_stage
    done = run_stage('distill', config, distilled.path, prepared=prepared.path)
    log_metrics(metrics, {'krr_accuracy': done['krr_accuracy'], 'steps': done['steps']})


@component
def publish(config: str, distilled: Input[Dataset], published: Output[Dataset]):
    from tfkip.pipeline.task import run_stage
    published.metadata['dataset'] = run_stage('publish', config, published.path,
                                              distilled=distilled.path)['dataset']


@component
def transfer(config: str, prepared: Input[Dataset], published: Input[Dataset],
             metrics: Output[Metrics]):
    import tempfile
    from tfkip.pipeline.task import log_metrics, run_stage
    log_metrics(metrics, run_stage('transfer', config, tempfile.mkdtemp(),
                                   prepared=prepared.path, published=published.path,
                                   dataset=published.metadata['dataset']))


@component
def baseline(config: str, prepared: Input[Dataset], metrics: Output[Metrics]):
    import tempfile
    from tfkip.pipeline.task import log_metrics, run_stage
    log_metrics(metrics, run_stage('baseline', config, tempfile.mkdtemp(),
                                   prepared=prepared.path))


@dsl.pipeline(name='tfkip', description='Beam preprocessing, distillation, TFDS publishing and '
              'Keras transfer of one distilled set, against a random real subset.')
def tfkip_pipeline(config: str):
    prepared = preprocess(config=config).outputs['prepared']
    made = distill(config=config, prepared=prepared)
    published = publish(config=config, distilled=made.outputs['distilled'])
    transfer(config=config, prepared=prepared, published=published.outputs['published'])
    baseline(config=config, prepared=prepared)
