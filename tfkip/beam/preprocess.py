"""The Beam preprocessing stage: read a source, fit standardization + regularized ZCA on the
train split, write every split preprocessed with the train statistics.

    ReadTrain -> FitPreprocessing (two CombineFns: channel moments, feature moments)
              -> ApplyPreprocessing (statistics as a side input) -> WriteExamples
    ReadTest  -> ApplyPreprocessing -> WriteExamples

Statistics are float64 `Moments` merged with Chan et al.'s parallel update
(`tfkip.preprocess.moments`), so they do not depend on how the runner splits the data; the
eigendecomposition runs once, on the merged covariance. `run` writes everything to a
temporary folder and moves it into place when the pipeline has succeeded; the output
layout is documented in `tfkip.formats.prepared`.
"""
import functools
import hashlib
import json
import logging
import math
import os
import posixpath
import shutil
import sys


class _WithoutApitoolsNote(logging.Filter):
    """Beam notes on the root logger, at import, that its BigQuery client is not installed:
    irrelevant to this stage, which reads no BigQuery."""

    def filter(self, record):
        return 'apitools not found' not in record.getMessage()


logging.getLogger().addFilter(_WithoutApitoolsNote())
import apache_beam as beam  # noqa: E402
from apache_beam.io.filesystems import FileSystems  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions  # noqa: E402

from tfkip import options
from tfkip._io import check_writable, remove_leftovers, temporary_name
from tfkip._tf import tf
from tfkip.errors import TfkipError
from tfkip.formats.prepared import FORMAT, MANIFEST, STATS, encode_example
from tfkip.formats.preprocess_stats import to_npz_bytes
from tfkip.preprocess import moments
from tfkip.preprocess.standardize import channel_rows, channel_stats_from_moments
from tfkip.preprocess.transform import PreprocessConfig, PreprocessStats, apply, before_zca
from tfkip.preprocess.zca import zca_from_moments
from tfkip.sources import open_source
from tfkip.sources.base import check_batch, split_info
from tfkip.version import __version__


class MomentsCombineFn(beam.CombineFn):
    """Row arrays [n, d] -> Moments of all their rows (full covariance or its diagonal)."""

    def __init__(self, *, full):
        self._full = full

    def create_accumulator(self):
        return moments.empty(0, full=self._full)

    def add_input(self, accumulator, rows):
        return moments.merge(accumulator, moments.of_rows(rows, full=self._full))

    def merge_accumulators(self, accumulators):
        return functools.reduce(moments.merge, accumulators)

    def extract_output(self, accumulator):
        return accumulator


class ReadSplit(beam.PTransform):
    """PBegin -> PCollection of `Batch`, one per shard of `split`, read on the workers."""

    def __init__(self, source, split, info):
        super().__init__()
        self._source, self._split = source, split
        self._num_classes = len(info.class_names)
        self._where = f'{source.name}[{split}]'

    def expand(self, pbegin):
        return (pbegin
                | 'Shards' >> beam.Create(self._source.shards(self._split))
                | 'Distribute' >> beam.Reshuffle()
                | 'Decode' >> beam.Map(self._source.read)
                | 'Check' >> beam.Map(check_batch, self._num_classes, self._where))


class FitPreprocessing(beam.PTransform):
    """PCollection of train `Batch` -> PCollection of one `PreprocessStats`."""

    def __init__(self, config, info, source_name):
        super().__init__()
        self._config, self._info, self._source_name = config, info, source_name

    def expand(self, batches):
        config, p = self._config, batches.pipeline
        if config.standardize:
            channel = (batches
                       | 'PixelRows' >> beam.Map(lambda b: channel_rows(b.images))
                       | 'ChannelMoments' >> beam.CombineGlobally(MomentsCombineFn(full=False))
                       | 'ChannelStats' >> beam.Map(channel_stats_from_moments))
        else:
            channel = p | 'NoChannelStats' >> beam.Create([None])
        if config.zca:
            zca = (batches
                   | 'FeatureRows' >> beam.Map(lambda b, c: before_zca(b.images, config, c),
                                               c=beam.pvalue.AsSingleton(channel))
                   | 'FeatureMoments' >> beam.CombineGlobally(MomentsCombineFn(full=True))
                   | 'Whitening' >> beam.Map(zca_from_moments, config.zca_reg))
        else:
            zca = p | 'NoZca' >> beam.Create([None])
        count = (batches
                 | 'TrainSizes' >> beam.Map(lambda b: len(b.labels))
                 | 'CountTrain' >> beam.CombineGlobally(sum))
        info, name = self._info, self._source_name
        return (channel
                | 'Stats' >> beam.Map(
                    lambda c, z, n: PreprocessStats(config, info.class_names, info.image_shape,
                                                    name, n, c, z),
                    z=beam.pvalue.AsSingleton(zca), n=beam.pvalue.AsSingleton(count)))


class ApplyPreprocessing(beam.PTransform):
    """PCollection of `Batch` -> the same batches with preprocessed float32 images."""

    def __init__(self, stats):
        super().__init__()
        self._stats = stats  # a PCollection of one PreprocessStats

    def expand(self, batches):
        return batches | 'Apply' >> beam.Map(
            lambda b, s: b._replace(images=apply(s, b.images)),
            s=beam.pvalue.AsSingleton(self._stats))


class WriteExamples(beam.PTransform):
    """PCollection of `Batch` -> `<prefix>-SSSSS-of-NNNNN.tfrecord` files of tf.train.Example."""

    def __init__(self, prefix, num_shards):
        super().__init__()
        self._prefix, self._num_shards = prefix, num_shards

    def expand(self, batches):
        return (batches
                | 'Encode' >> beam.FlatMap(
                    lambda b: map(encode_example, b.images, b.labels, b.keys))
                | 'Write' >> beam.io.WriteToTFRecord(
                    self._prefix, file_name_suffix='.tfrecord', num_shards=self._num_shards,
                    shard_name_template='-SSSSS-of-NNNNN'))


def _write_bytes(data, path):
    with FileSystems.create(path) as f:
        f.write(data)


def build(pipeline, source, config, infos, train_split, out_dir, *, examples_per_file):
    """Adds the stage to `pipeline`: statistics from `train_split`, every split in `infos`
    preprocessed and written under `out_dir` with the stats file."""
    batches = {split: pipeline | f'Read[{split}]' >> ReadSplit(source, split, info)
               for split, info in infos.items()}
    stats = batches[train_split] | 'FitPreprocessing' >> FitPreprocessing(
        config, infos[train_split], source.name)
    _ = (stats | 'EncodeStats' >> beam.Map(to_npz_bytes)
         | 'WriteStats' >> beam.Map(_write_bytes, posixpath.join(out_dir, STATS)))
    for split, info in infos.items():
        _ = (batches[split]
             | f'Preprocess[{split}]' >> ApplyPreprocessing(stats)
             | f'Write[{split}]' >> WriteExamples(
                 posixpath.join(out_dir, split),
                 max(1, math.ceil(info.num_examples / examples_per_file))))


def _manifest(out_dir, source, config, infos):
    with FileSystems.open(posixpath.join(out_dir, STATS)) as f:
        stats_sha256 = hashlib.sha256(f.read()).hexdigest()
    first = next(iter(infos.values()))
    splits = {}
    for split, info in infos.items():
        files = FileSystems.match([posixpath.join(out_dir, f'{split}-*.tfrecord')])[0]
        splits[split] = {'num_examples': info.num_examples,
                         'files': sorted(posixpath.basename(m.path) for m in files.metadata_list)}
    return {'format': FORMAT, 'tfkip_version': __version__, 'source': source.name,
            'config': config.to_dict(), 'class_names': list(first.class_names),
            'image_shape': list(first.image_shape), 'splits': splits, 'stats_file': STATS,
            'stats_sha256': stats_sha256}


def _move_into_place(tmp_dir, out_dir):
    """Replaces `out_dir` by the finished `tmp_dir` (one rename on local disk)."""
    if FileSystems.get_scheme(out_dir) is None:  # local: old output survives until the swap
        old = temporary_name(out_dir)
        if os.path.exists(out_dir):
            os.rename(out_dir, old)
        os.rename(tmp_dir, out_dir)
        shutil.rmtree(old, ignore_errors=True)
        return
    if FileSystems.exists(out_dir):
        FileSystems.delete([out_dir])
    files = [m.path for m in FileSystems.match([posixpath.join(tmp_dir, '*')])[0].metadata_list]
    FileSystems.rename(files, [posixpath.join(out_dir, posixpath.basename(f)) for f in files])
    FileSystems.delete([tmp_dir])


# Runners measured to run the stage wrongly, with why and what to use instead (one line each).
UNSUPPORTED_RUNNERS = {
    'DaskRunner': "Beam 2.77's DaskRunner (experimental) delivers the train statistics twice to "
                  'a singleton side input ("PCollection of size 2 ... accessed as a singleton '
                  'view") and computes only the last of a pipeline\'s outputs; run on Flink, '
                  'Spark or Dataflow, or here on the default in-process runner or '
                  '--direct_running_mode=multi_processing',
}


def check_runner(beam_options):
    """Raises TfkipError if `beam_options` names a runner of `UNSUPPORTED_RUNNERS`, or one
    Beam cannot create here (an unknown name, a missing extra such as apache_beam[gcp])."""
    from apache_beam.runners.runner import create_runner
    runner = beam_options.view_as(StandardOptions).runner
    name = runner if isinstance(runner, str) else type(runner).__name__ if runner else ''
    reason = UNSUPPORTED_RUNNERS.get(name.rsplit('.', 1)[-1])
    if reason:
        raise TfkipError(f'--runner {name}: {reason}')
    if isinstance(runner, str):
        try:
            create_runner(runner)
        except (ValueError, ImportError) as e:
            raise TfkipError(f'--runner {name}: {str(e).splitlines()[0]}') from None


def preprocess(source, out_dir, config, *, splits=('train', 'test'), train_split='train',
               tfds_data_dir=None, pipeline_options=None, examples_per_file=10000):
    """Runs the stage on `source` (a spec string or a `Source`) and returns `out_dir`.

    Without a `--runner` in `pipeline_options` it runs in this process on FnApiRunner (Beam's
    DirectRunner would first try to download its Prism binary). `config.zca` 'auto' is
    resolved from the train split's image shape."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    if train_split not in splits:
        splits = (train_split,) + tuple(splits)
    if isinstance(source, str):
        source = open_source(source, tfds_data_dir=tfds_data_dir)
    infos = {split: split_info(source, split) for split in splits}  # bad splits fail here, early
    for split, info in infos.items():
        if info.class_names != infos[train_split].class_names:
            raise TfkipError(f'{source.name}: split {split!r} has classes {info.class_names}, '
                             f'{train_split!r} has {infos[train_split].class_names}')
        if info.image_shape != infos[train_split].image_shape:
            raise TfkipError(f'{source.name}: split {split!r} has images of shape '
                             f'{info.image_shape}, {train_split!r} '
                             f'{infos[train_split].image_shape}')
    config = config.resolved(infos[train_split].image_shape)
    beam_options = pipeline_options or PipelineOptions([])
    check_runner(beam_options)
    runner = None if beam_options.view_as(StandardOptions).runner else FnApiRunner()
    out_dir = out_dir.rstrip('/')
    # What a run killed before it could clean up left beside the output.
    remove_leftovers(os.path.dirname(out_dir) or '.', prefix=os.path.basename(out_dir))
    tmp_dir = temporary_name(out_dir)
    try:
        pipeline = _pipeline(runner, beam_options)
        build(pipeline, source, config, infos, train_split, tmp_dir,
              examples_per_file=examples_per_file)
        _run(pipeline)
        manifest = _manifest(tmp_dir, source, config, infos)
        with FileSystems.create(posixpath.join(tmp_dir, MANIFEST)) as f:
            f.write(json.dumps(manifest, indent=2).encode())
        _move_into_place(tmp_dir, out_dir)
    finally:
        if FileSystems.exists(tmp_dir):
            FileSystems.delete([tmp_dir])
    return out_dir


def _pipeline(runner, beam_options):
    """A beam.Pipeline, or TfkipError listing in one line the options its runner lacks."""
    try:
        return beam.Pipeline(runner=runner, options=beam_options)
    except ValueError as e:  # Beam's validation: a heading line, then one line per problem
        lines = [line.strip().rstrip('.') for line in str(e).splitlines() if line.strip()]
        raise TfkipError(f"--runner {beam_options.view_as(StandardOptions).runner}: "
                         + '; '.join(lines[1:] or lines)) from None


def _run(pipeline):
    """Runs to completion; a TfkipError raised on a worker comes back as itself."""
    try:
        pipeline.run().wait_until_finish()
    except TfkipError:
        raise
    except Exception as e:  # runners wrap worker errors; find ours in the chain or text
        cause = e
        while cause is not None:
            if isinstance(cause, TfkipError):
                raise cause from None
            cause = cause.__cause__ or cause.__context__
        marker = 'TfkipError: '
        text = str(e)
        if marker in text:
            raise TfkipError(text.split(marker, 1)[1].splitlines()[0]) from None
        raise


def build_parser(prog):
    parser = options.Parser(
        prog=prog, description='Beam stage: standardize and regularized-ZCA-whiten a '
        'dataset with train statistics; write TFRecord shards and stats.npz for the KIP stage. '
        'Arguments not listed here are Beam pipeline options (--runner DataflowRunner '
        '--project ... --region ... --temp_location gs://... --setup_file ./setup.py); '
        'without --runner the pipeline runs locally on FnApiRunner.')
    parser.add_argument('--source', required=True,
                        help='tfds:<name>, an ImageFolder directory (<split>/<class>/<image>) '
                             'or an .npz with <split>_images and <split>_labels')
    parser.add_argument('--output', required=True,
                        help='output folder (written to OUTPUT.tmp-*, moved into place at the end)')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'],
                        help='splits to write (default: %(default)s)')
    parser.add_argument('--train-split', default='train',
                        help='split the statistics come from (default: %(default)s)')
    parser.add_argument('--tfds-data-dir', default=None,
                        help='TFDS data_dir for tfds: sources (default: TFDS\'s own)')
    parser.add_argument('--examples-per-file', type=int, default=10000,
                        help='examples per output TFRecord file (default: %(default)s)')
    options.add_fields(parser, PreprocessConfig, title='preprocessing')
    return parser


def _unknown_beam_arguments(beam_args):
    """The arguments no Beam pipeline option takes (Beam itself only warns of them)."""
    unknown = []
    PipelineOptions(beam_args).get_all_options(
        add_extra_args_fn=lambda parser: unknown.extend(parser.parse_known_args(beam_args)[1]),
        retain_unknown_options=True)
    return unknown


def run(argv, prog='pipelines/preprocess.py'):
    """Command-line entry (`pipelines/preprocess.py`, `tfkip preprocess`); returns an exit code."""
    parser = build_parser(prog)
    args, beam_args = parser.parse_known_args(argv)
    try:  # before the options check: a refused runner's own options are not registered
        check_runner(PipelineOptions(beam_args))
    except TfkipError as e:
        print(f'{prog}: error: {e}', file=sys.stderr)
        return 2
    unknown = _unknown_beam_arguments(beam_args)
    if unknown:
        parser.error(f'unrecognized argument {unknown[0]!r}: neither an option above nor a Beam '
                     'pipeline option')
    tf()  # started quietly before Beam's TFRecord IO imports it
    logging.getLogger('apache_beam').setLevel(logging.WARNING)
    # A worker error is reported once, by `_run`, not also as Beam's logged traceback.
    logging.getLogger('apache_beam.runners.common').setLevel(logging.CRITICAL)
    try:
        config = PreprocessConfig.from_options(vars(args))
        check_writable(os.path.dirname(args.output) or '.', '--output')
        out = preprocess(args.source, args.output, config, splits=tuple(args.splits),
                         train_split=args.train_split, tfds_data_dir=args.tfds_data_dir,
                         pipeline_options=PipelineOptions(beam_args),
                         examples_per_file=args.examples_per_file)
    except TfkipError as e:
        print(f'{prog}: error: {e}', file=sys.stderr)
        return 2
    print(json.dumps({'output': out}))
    return 0
