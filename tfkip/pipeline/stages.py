"""`run`: source -> Beam preprocessing -> KIP / Label Solve -> TFDS publish -> Keras transfer
-> random-subset baseline -> report, in one run directory.

    <run_dir>/config.json          the RunConfig of the latest run
    <run_dir>/preprocessed/        the Beam stage's output (a prepared source)
    <run_dir>/distilled.npz, .json the distilled-set artifact (and .preprocess.npz)
    <run_dir>/distilled.ckpt/      KIP checkpoints, resumed from after a crash
    <run_dir>/tfds/                the TFDS data_dir the set is published into
    <run_dir>/stages/<stage>.json  a finished stage: fingerprint, outputs, seconds
    <run_dir>/report.md, report.json, distilled.png, curves.png

A stage whose marker exists with the fingerprint of the current options (its own and its
upstream stages') is done and is not run again; so a rerun after a crash continues with the
first unfinished stage, and KIP inside it from its last checkpoint. Changing an option reruns
the stage it belongs to and every later one. Markers are written last, atomically.
"""
import dataclasses
import functools
import json
import os
import time

from tfkip._io import write_text
from tfkip.errors import TfkipError
from tfkip.pipeline import STAGES

PREPARED = 'preprocessed'
ARTIFACT = 'distilled'
TFDS_DIR = 'tfds'


def _marker(run_dir, stage):
    return os.path.join(run_dir, 'stages', f'{stage}.json')


def _read_marker(run_dir, stage):
    path = _marker(run_dir, stage)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def _data(config, outputs):
    """(train, test, stats): from the Beam stage's output, or (preprocess skipped) the
    source preprocessed in memory with the same options."""
    from tfkip import preprocess, sources
    if outputs.get('preprocess'):
        source = sources.open_source(outputs['preprocess']['prepared_dir'])
        train = sources.load_split(source, config.train_split)
        return train, sources.load_split(source, config.eval_split), source.stats()
    source = sources.open_source(config.source, tfds_data_dir=config.tfds_data_dir)
    train = sources.load_split(source, config.train_split)
    stats = preprocess.fit(config.preprocess, train)
    test = sources.load_split(source, config.eval_split)
    return preprocess.transform(stats, train), preprocess.transform(stats, test), stats


def _needs(outputs, stage, by):
    if not outputs.get(stage):
        raise TfkipError(f'the {by} stage needs the {stage} stage\'s output, which this run '
                         f'directory does not have: do not skip {stage} (or skip {by} too)')
    return outputs[stage]


def _preprocess(config, outputs, log, data):
    from tfkip.preprocess.beam import preprocess
    out = os.path.join(config.run_dir, PREPARED)
    preprocess(config.source, out, config.preprocess,
               splits=(config.train_split, config.eval_split), train_split=config.train_split,
               tfds_data_dir=config.tfds_data_dir)
    return {'prepared_dir': out}


def _distill(config, outputs, log, data):
    from tfkip.artifacts import distilled_set
    from tfkip.distill.train import distill
    train, test, stats = data()
    base = os.path.join(config.run_dir, ARTIFACT)
    result = distill(config.distill, train, eval_data=test, workdir=base + '.ckpt', log=log)
    preprocessing = {'prepared': bool(outputs.get('preprocess')), **stats.describe()}
    metadata = dict(result.metadata, preprocessing=preprocessing, source=config.source)
    path = distilled_set.save(dataclasses.replace(result, metadata=metadata), base,
                              preprocessing=stats)
    return {'artifact': path, 'krr_accuracy': metadata['metrics']['accuracy'],
            'steps': metadata['steps']}


def _publish(config, outputs, log, data):
    from tfkip.publish import publish
    artifact = _needs(outputs, 'distill', 'publish')['artifact']
    data_dir = os.path.join(config.run_dir, TFDS_DIR)
    name, path = publish(artifact, config.dataset, None, data_dir)
    return {'dataset': name, 'data_dir': data_dir, 'path': path}


def _transfer(config, outputs, log, data):
    import tensorflow_datasets as tfds
    published = _needs(outputs, 'publish', 'transfer')
    rows = tfds.as_numpy(tfds.load(published['dataset'], split='train', batch_size=-1,
                                   data_dir=published['data_dir']))
    _, test, _ = data()  # already in the set's preprocessed space
    return _each_protocol(config, rows['image'], rows['soft_label'], test, log, 'transfer')


def _each_protocol(config, images, labels, test, log, what):
    """{'results': [train_and_evaluate's result under each of config.transfer]}."""
    from tfkip.transfer import train_and_evaluate
    results = []
    for transfer in config.transfer:
        results.append(train_and_evaluate(
            transfer, images, labels, test.images, test.labels,
            architecture=config.distill.kernel.architecture,
            progress=lambda seed, acc: log(f'{what} ({transfer.protocol} protocol) seed {seed}: '
                                           f'test accuracy {acc:.4f}')))
    return {'results': results}


def _baseline(config, outputs, log, data):
    """The real images KIP starts from (a random class-balanced subset of the same size),
    one-hot labels: KRR with the same kernel and the same Keras protocol."""
    from tfkip.distill.train import evaluate_start
    train, test, _ = data()
    images, labels, krr = evaluate_start(config.distill, train, test)
    log(f'baseline: random subset KRR accuracy {krr["accuracy"]:.4f}')
    result = {'krr': krr}
    if 'transfer' not in config.skip:
        result['transfer'] = _each_protocol(config, images, labels, test, log, 'baseline')
    return result


def _report(config, outputs, log, data):
    from tfkip.pipeline.report import write_report
    return write_report(config, outputs, _timings(config.run_dir))


def _timings(run_dir):
    return {stage: marker['seconds'] for stage in STAGES
            if (marker := _read_marker(run_dir, stage)) is not None}


_RUNNERS = {'preprocess': _preprocess, 'distill': _distill, 'publish': _publish,
            'transfer': _transfer, 'baseline': _baseline, 'report': _report}


def run(config, *, log=print):
    """Runs (or resumes) every stage of `config` not skipped; returns {stage: outputs}."""
    os.makedirs(config.run_dir, exist_ok=True)
    write_text(os.path.join(config.run_dir, 'config.json'),
               json.dumps(config.to_dict(), indent=2, default=str) + '\n')
    outputs, fingerprint = {}, ''
    # Read (and preprocessed) once per run, by the first stage that needs it, after the
    # preprocess stage has run.
    data = functools.cache(lambda: _data(config, outputs))
    for stage in STAGES:
        fingerprint = config.stage_fingerprint(stage, fingerprint)
        marker = _read_marker(config.run_dir, stage)
        if stage in config.skip:
            outputs[stage] = marker['outputs'] if marker else None
            log(f'[{stage}] skipped' + (' (using its earlier outputs)' if marker else ''))
            continue
        if marker is not None and marker['fingerprint'] == fingerprint and stage != 'report':
            outputs[stage] = marker['outputs']
            log(f'[{stage}] done already ({marker["seconds"]:.1f} s), not rerun')
            continue
        log(f'[{stage}] running')
        start = time.time()
        outputs[stage] = _RUNNERS[stage](config, outputs, log, data)
        seconds = time.time() - start
        write_text(_marker(config.run_dir, stage), json.dumps(
            {'fingerprint': fingerprint, 'outputs': outputs[stage], 'seconds': seconds},
            indent=2) + '\n')
        log(f'[{stage}] finished in {seconds:.1f} s')
    return outputs
