"""One stage of `tfkip run` as an orchestrator's task (`tfkip.pipeline.kubeflow`'s component
bodies call these): the stage from the run's options, and its numbers as metrics. Imports
no orchestrator, so that it runs inside any task's runtime."""
import json
import os


def run_stage(stage, config, run_dir, *, prepared=None, distilled=None, published=None,
              dataset=None):
    """`stages.run_stage` of the run `config` (the JSON text of `tfkip run --config-file`:
    {option: value}; text, not a dict parameter, because an orchestrator's dict turns every
    number into a float) writing under `run_dir`. Upstream stages are given by the folders
    they ran in (`prepared`, `distilled`, `published`, laid out as in a run directory) and
    the published set's `dataset` name. Returns the stage's outputs."""
    from tfkip.cli import build_parser
    from tfkip.pipeline import stages
    from tfkip.pipeline.config import RunConfig, config_values
    os.makedirs(run_dir, exist_ok=True)
    options = config_values(json.loads(config), build_parser().names['run'], 'config')
    upstream = {}
    if prepared:
        upstream['preprocess'] = {'prepared_dir': os.path.join(prepared, stages.PREPARED)}
    if distilled:
        upstream['distill'] = {'artifact': os.path.join(distilled, stages.ARTIFACT + '.npz')}
    if published:
        upstream['publish'] = {'dataset': dataset,
                               'data_dir': os.path.join(published, stages.TFDS_DIR)}
    return stages.run_stage(stage, RunConfig.from_options({**options, 'run_dir': run_dir}),
                            upstream)


def log_metrics(metrics, value, prefix=''):
    """Every number of a (nested) stage output into `metrics` (`log_metric(name, number)`),
    named by its path, e.g. 'results.0.mean'."""
    if isinstance(value, dict):
        for key, item in value.items():
            log_metrics(metrics, item, f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            log_metrics(metrics, item, f'{prefix}.{i}')
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        metrics.log_metric(prefix, value)
