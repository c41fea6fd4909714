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

The stage functions below (`load_data`, `distill_to_artifact`, `load_published`,
`train_on_set`, `evaluate_artifact`, `evaluate_published`) are the only stage logic: `run` and
every `tfkip` subcommand call them.
"""
import contextlib
import dataclasses
import fcntl
import functools
import json
import os
import time

from tfkip._io import check_writable, remove_leftovers, write_text
from tfkip.errors import TfkipError
from tfkip.pipeline import STAGES

PREPARED = 'preprocessed'
ARTIFACT = 'distilled'
TFDS_DIR = 'tfds'
LOCK = '.lock'


def _marker(run_dir, stage):
    return os.path.join(run_dir, 'stages', f'{stage}.json')


def _read_marker(run_dir, stage):
    path = _marker(run_dir, stage)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def load_data(source, preprocess_config, train_split='train', eval_split='test',
              tfds_data_dir=None):
    """The splits in the preprocessed space: a Beam-prepared folder as it is, any other
    source preprocessed in memory (fitted on the train split).

    Returns:
      (train, test (None without eval_split), PreprocessStats, prepared: bool).
    """
    from tfkip import preprocess, sources
    opened = sources.open_source(source, tfds_data_dir=tfds_data_dir)
    train = sources.load_split(opened, train_split)
    test = sources.load_split(opened, eval_split) if eval_split else None
    if isinstance(opened, sources.Prepared):
        return train, test, opened.stats(), True
    stats = preprocess.fit(preprocess_config, train)
    test = preprocess.transform(stats, test) if test is not None else None
    return preprocess.transform(stats, train), test, stats, False


def _data(config, outputs):
    """(train, test, stats, prepared): from the Beam stage's output, or (preprocess skipped)
    the source preprocessed in memory with the same options."""
    source = (outputs['preprocess']['prepared_dir'] if outputs.get('preprocess')
              else config.source)
    return load_data(source, config.preprocess, config.train_split, config.eval_split,
                     config.tfds_data_dir)


def distill_to_artifact(config, train, test, stats, prepared, base, *, source, log,
                        workdir=None, **kwargs):
    """Distils `train` with `config` (a DistillConfig) and saves the artifact at `base`
    (.npz, .json, .preprocess.npz); checkpoints in `workdir` (default: base.ckpt). `train`,
    `test`, `stats` and `prepared` are `load_data`'s.

    Returns:
      (the artifact's path, its metadata); path None on processes that do not write.
    """
    from tfkip.formats import distilled_set
    from tfkip.distill import distributed
    from tfkip.distill.train import distill
    result = distill(config, train, eval_data=test, workdir=workdir or base + '.ckpt', log=log,
                     **kwargs)
    metadata = dataclasses.replace(result.metadata, source=source,
                                   preprocessing={'prepared': prepared, **stats.describe()})
    if not distributed.is_writer():
        return None, metadata
    return distilled_set.save(dataclasses.replace(result, metadata=metadata), base,
                              preprocessing=stats), metadata


def load_published(name, data_dir):
    """A published `<dataset>/<config>`: (images [N, H, W, C] float32, soft labels [N, C]
    float32, its PreprocessStats or None, {KernelConfig field: value} of the kernel it was
    made with, as far as the config tells: its architecture at least, or {} for real images)."""
    import tensorflow_datasets as tfds
    from tfkip._tf import is_prepared
    from tfkip.publish import builder_class, config_of
    dataset, _, config = name.partition('/')
    # Registers the builder (info.metadata has the stats); an unknown config is one line.
    config_of(dataset, config) if config else builder_class(dataset)
    builder = tfds.builder(name, data_dir=data_dir)
    if not is_prepared(builder):
        raise TfkipError(f'{name} is not published in {data_dir}; run tfkip publish first')
    rows = tfds.as_numpy(builder.as_dataset('train', batch_size=-1))
    return (rows['image'], rows['soft_label'], builder.info.metadata.stats,
            builder.builder_config.kernel)


def published_images_per_class(name):
    """The real images per class a published `<dataset>[/<config>]` stores (a multi-formation
    set trains on more): the size of the random subset that is its reference."""
    from tfkip.publish import builder_class, config_of
    dataset, _, config = name.partition('/')
    builder = builder_class(dataset)
    return config_of(dataset, config or builder.DEFAULT_BUILDER_CONFIG_NAME).images_per_class


def train_on_set(transfers, images, labels, test, architecture, log, what):
    """{'results': [train_and_evaluate's result under each TransferConfig of `transfers`]};
    `test` (the split scored: the test split, or a validation split where rates are chosen) in
    the set's space; each network's line names it."""
    from tfkip.transfer import train_and_evaluate
    results = []
    for transfer in transfers:
        results.append(train_and_evaluate(
            transfer, images, labels, test.images, test.labels, architecture=architecture,
            progress=lambda seed, acc: log(f'{what} ({transfer.protocol} protocol, lr '
                                           f'{transfer.learning_rate}) seed {seed}: '
                                           f'accuracy {acc:.4f} on {test.source}')))
    return {'results': results}


def evaluate_artifact(path, source, *, eval_split='test', train_split='train',
                      tfds_data_dir=None, kernel=None, reg=None, preprocess_config=None):
    """KRR metrics of the artifact at `path` on `eval_split` of `source`, with the kernel,
    ridge and preprocessing its sidecar records. `kernel` ({KernelConfig field: value}) and
    `reg`, when given, override the sidecar's; a set without a sidecar needs `kernel` with
    its architecture at least (nothing is assumed), and `preprocess_config`.

    Returns:
      {'accuracy', 'mse', 'kernel': the KernelConfig's fields, 'reg'}.
    """
    import numpy as np
    from tfkip import preprocess, sources
    from tfkip.formats import distilled_set
    artifact = distilled_set.load(path)
    meta = artifact.metadata
    opened = sources.open_source(source, tfds_data_dir=tfds_data_dir)
    kernel = kernel or {}
    hparams = None
    if meta.config is not None:
        made = meta.distill_config()
        kernel, reg = dataclasses.replace(made.kernel, **kernel), made.reg if reg is None else reg
        hparams = {k: np.float32(v) for k, v in meta.hparams.items()}
    prep = meta.preprocessing
    if prep is not None and prep['prepared'] != isinstance(opened, sources.Prepared):
        kind = 'a Beam-prepared folder' if prep['prepared'] else 'raw images'
        raise TfkipError(f'{path} was distilled from {kind} ({meta.source}); evaluate it '
                         f'with a --source of the same kind, not {source}')
    stats = None
    if not isinstance(opened, sources.Prepared):
        stats = distilled_set.load_preprocessing(artifact)
        if stats is None:  # no statistics file: refit on the train split (it is deterministic)
            config = (preprocess.PreprocessConfig(**prep['config']) if prep is not None
                      else preprocess_config)
            stats = preprocess.fit(config, sources.load_split(opened, train_split))
    return _krr(artifact, stats, opened, eval_split, kernel, reg, hparams)


def evaluate_published(name, data_dir, source, *, eval_split='test', tfds_data_dir=None,
                       kernel=None, reg=None):
    """KRR metrics of the published `<dataset>/<config>` in `data_dir` on `eval_split` of
    `source` (raw images, mapped into the set's space by its preprocessing), with the kernel
    its config tells (the authors' for `published_*` sets), `kernel` fields overriding it.

    Returns:
      as `evaluate_artifact`.
    """
    from tfkip import sources
    from tfkip.formats.distilled_set import DistilledSet
    images, labels, stats, made_with = load_published(name, data_dir)
    if stats is None:
        raise TfkipError(f'{name} has no preprocessing statistics')
    opened = sources.open_source(source, tfds_data_dir=tfds_data_dir)
    if isinstance(opened, sources.Prepared):
        raise TfkipError(f'{name} is evaluated on raw images mapped by its own preprocessing: '
                         f'give the real dataset as it is (e.g. tfds:cifar10), not {source}')
    return _krr(DistilledSet(images, labels, {'path': name}), stats, opened, eval_split,
                {**made_with, **(kernel or {})}, reg, None)


def _krr(distilled, stats, opened, eval_split, kernel, reg, hparams):
    """KRR of a DistilledSet on `eval_split` of the opened source, preprocessed by `stats`
    (None: it is already); `kernel` a KernelConfig or its fields, `reg` None: the default."""
    from tfkip import preprocess, sources
    from tfkip.distill.config import DistillConfig
    from tfkip.distill.krr import evaluate
    from tfkip.kernels.kernel import KernelConfig, make_kernel_fn
    if isinstance(kernel, dict):
        if 'architecture' not in kernel:
            raise TfkipError(f'{distilled.metadata.path} records no kernel: give the '
                             '--architecture (and --depth, --kernel, ...) it was distilled with')
        kernel = KernelConfig(**kernel)
    reg = DistillConfig.__dataclass_fields__['reg'].default if reg is None else reg
    test = sources.load_split(opened, eval_split)
    if stats is not None:
        test = preprocess.transform(stats, test)
    distilled.check_matches(test.image_shape, test.num_classes, test.source)
    metrics = evaluate(make_kernel_fn(kernel, test.num_classes),
                       kernel.initial_hparams() if hparams is None else hparams,
                       *distilled.training_set(), test.images, test.labels, reg=reg)
    return {**metrics, 'kernel': dataclasses.asdict(kernel), 'reg': reg}


def _needs(outputs, stage, by):
    if not outputs.get(stage):
        raise TfkipError(f'the {by} stage needs the {stage} stage\'s output, which this run '
                         f'directory does not have: do not skip {stage} (or skip {by} too)')
    return outputs[stage]


def _preprocess(config, outputs, log, data):
    from tfkip.beam.preprocess import preprocess
    out = os.path.join(config.run_dir, PREPARED)
    preprocess(config.source, out, config.preprocess,
               splits=(config.train_split, config.eval_split), train_split=config.train_split,
               tfds_data_dir=config.tfds_data_dir)
    return {'prepared_dir': out}


def _distill(config, outputs, log, data):
    train, test, stats, prepared = data()
    path, metadata = distill_to_artifact(config.distill, train, test, stats, prepared,
                                         os.path.join(config.run_dir, ARTIFACT),
                                         source=config.source, log=log)
    return {'artifact': path, 'krr_accuracy': metadata.metrics.get('accuracy'),
            'steps': metadata.steps}


def _publish(config, outputs, log, data):
    from tfkip.publish import publish
    artifact = _needs(outputs, 'distill', 'publish')['artifact']
    data_dir = os.path.join(config.run_dir, TFDS_DIR)
    name, path = publish(artifact, config.dataset, None, data_dir)
    return {'dataset': name, 'data_dir': data_dir, 'path': path}


def _transfer(config, outputs, log, data):
    published = _needs(outputs, 'publish', 'transfer')
    images, labels, _, _ = load_published(published['dataset'], published['data_dir'])
    train, test, _, _ = data()  # already in the set's preprocessed space
    architecture = config.distill.kernel.architecture
    result = train_on_set(config.transfer, images, labels, test, architecture, log, 'transfer')
    if config.scores:
        from tfkip.transfer.robust import score_set
        for transfer, outcome in zip(config.transfer, result['results']):
            outcome['scores'] = score_set(transfer, config.scores, images, labels,
                                          config.distill.images_per_class, train, test,
                                          architecture=architecture, log=log)
    return result


def _baseline(config, outputs, log, data):
    """The real images KIP starts from (a random class-balanced subset of the same size),
    one-hot labels: KRR with the same kernel and the same Keras protocol."""
    from tfkip.distill.train import evaluate_start
    train, test, _, _ = data()
    images, labels, krr = evaluate_start(config.distill, train, test)
    if krr:
        log(f'baseline: random subset KRR accuracy {krr["accuracy"]:.4f}')
    result = {'krr': krr}
    if 'transfer' not in config.skip:
        result['transfer'] = train_on_set(config.transfer, images, labels, test,
                                          config.distill.kernel.architecture, log, 'baseline')
    return result


def _report(config, outputs, log, data):
    from tfkip.pipeline.report import write_report
    return write_report(config, outputs, _timings(config.run_dir))


def _timings(run_dir):
    return {stage: marker['seconds'] for stage in STAGES
            if (marker := _read_marker(run_dir, stage)) is not None}


_RUNNERS = {'preprocess': _preprocess, 'distill': _distill, 'publish': _publish,
            'transfer': _transfer, 'baseline': _baseline, 'report': _report}


@contextlib.contextmanager
def _locked(run_dir):
    """Holds `<run_dir>/.lock` for this process (released on exit, a kill -9 included)."""
    with open(os.path.join(run_dir, LOCK), 'a+') as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise TfkipError(f'{run_dir} is in use by another tfkip run (process '
                             f'{f.read().strip() or "?"}); wait for it or use another '
                             '--run-dir') from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield


def run_stage(stage, config, upstream, *, log=print):
    """One stage of `config` alone, its outputs written under `config.run_dir`, given its
    upstream stages' outputs ({stage: outputs}, as `run` records them): how an orchestrator
    runs the pipeline one task per stage (`tfkip.pipeline.kubeflow`). Returns its outputs;
    writes no marker (the orchestrator keeps track)."""
    outputs = dict(upstream)
    data = functools.cache(lambda: _data(config, outputs))
    return _RUNNERS[stage](config, outputs, log, data)


def run(config, *, log=print):
    """Runs (or resumes) every stage of `config` not skipped; returns {stage: outputs}.

    One process at a time per run directory (a lock); what a killed run left half-written
    is removed first."""
    check_writable(config.run_dir, '--run-dir')
    with _locked(config.run_dir):
        remove_leftovers(config.run_dir, recursive=True)
        return _run_stages(config, log)


def _run_stages(config, log):
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
