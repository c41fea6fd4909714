"""`tfkip` command line: the whole pipeline, or one stage at a time.

    tfkip run --source sklearn:digits --run-dir runs/digits
    tfkip distill --source tfds:mnist --ipc 10 --out runs/mnist_ipc10/distilled
    tfkip evaluate --artifact runs/mnist_ipc10/distilled.npz --source tfds:mnist

Wiring only: the options are generated from the configuration dataclasses (`tfkip.options`),
the work is done by the stage functions (`tfkip.pipeline.stages`). Heavy imports happen
after parsing, so that `--help` is quick.
"""
import json
import os
import sys

from tqdm.auto import tqdm

from tfkip import option_sets, options
from tfkip._io import check_writable
from tfkip._runtime import configure_xla_cpu, quiet_tensorflow
from tfkip._tf import tf
from tfkip.errors import TfkipError
from tfkip.preprocess.transform import PreprocessConfig  # light: numpy only


def build_parser():
    """The parser; `parser.names[command]` lists each command's generated option dests."""
    from tfkip.pipeline import RUN_DEFAULTS, RUN_FACTOR, RUN_FACTOR_SIDE, STAGES
    from tfds_builders import DATASETS
    parser = options.Parser(prog='tfkip', description='Dataset distillation with infinitely '
                            'wide networks (KIP, RFAD, Label Solve, ...). --debug anywhere: a '
                            "traceback for tfkip's own errors.")
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    # Listed for --help; main() hands its arguments to the Beam stage's own parser.
    commands.add_parser('preprocess', add_help=False, help='Beam stage: standardize + '
                        'regularized ZCA, write TFRecord shards (tfkip preprocess --help)')
    parser.names = {}
    d = commands.add_parser('distill', help='learn a distilled set', description='Distil '
                            '--source into OUT.npz (images [N,H,W,C], labels [N,C]) and '
                            'OUT.json (config, preprocessing, metrics, checksum).')
    option_sets.data_args(d)
    d.add_argument('--out', required=True, help='output path (OUT.npz and OUT.json)')
    d.add_argument('--workdir', help='checkpoint directory; a rerun with the same options '
                                     'resumes from it (default: OUT.ckpt)')
    parser.names['distill'] = option_sets.config_args(d)
    option_sets.distributed_args(d)

    e = commands.add_parser('evaluate', help='KRR accuracy of a distilled set on real data',
                            description="KRR with the set as training data, tested on "
                            "--eval-split of --source, with the kernel, ridge and preprocessing"
                            " the set records; the options below override or fill them in.")
    which = e.add_mutually_exclusive_group(required=True)
    which.add_argument('--artifact', help='a distilled set (.npz)')
    option_sets.published_args(e, which)
    option_sets.data_args(e)
    parser.names['evaluate'] = option_sets.config_args(e, only=('reg',))

    p = commands.add_parser('publish', help='publish a distilled set as a TFDS dataset',
                            description="Build <dataset>/<config> into a TFDS data_dir from "
                            "an artifact, or a published_* config from its authors' set "
                            "(downloaded, or --artifact); then tfds.load('<dataset>/<config>', "
                            "data_dir=DATA_DIR) works, also without tfkip.")
    p.add_argument('--artifact', help="a distilled set (.npz); for a published_* config, its "
                                      "authors' file if you have it (default: download it)")
    p.add_argument('--dataset', required=True, choices=DATASETS, help='the TFDS dataset')
    p.add_argument('--config', help='builder config, e.g. rfad_convnet_fixedlabels_aug_ipc10, '
                                    'published_kip_convnet_zca_ipc10 (default: the artifact\'s)')
    p.add_argument('--data-dir', help="TFDS data_dir to build into (default: TFDS's own)")

    t = commands.add_parser('transfer', help='train Keras networks on a distilled set, test '
                            'on real data', description="Train on tfds.load('<dataset>/"
                            "<config>') (or another tool's --external-set) once per seed and "
                            'test on --eval-split of --test-source, mapped into the set\'s '
                            "space by its own preprocessing; --scores adds DD-Ranking's "
                            'robust scores.')
    which = t.add_mutually_exclusive_group(required=True)
    option_sets.published_args(t, which)
    which.add_argument('--external-set', metavar='FILE',
                       help='a set another tool made: an .npz of images and labels, optionally '
                            'the mean and std of its normalization (docs/formats.md)')
    t.add_argument('--test-source', required=True, help='the real data in its raw pixels')
    t.add_argument('--eval-split', default='test', help='real split to test on (default: test)')
    t.add_argument('--train-split', default='train', help='real split the random subset, the '
                   'validation split and the full-data networks of --scores come from '
                   '(default: train)')
    t.add_argument('--full-accuracy', type=float, metavar='FRACTION', help='--scores: the test '
                   'accuracy of networks trained on the whole --train-split under the same '
                   'protocol, if measured before (default: train them)')
    parser.names['transfer'] = option_sets.transfer_args(t)

    r = commands.add_parser('run', help='the whole pipeline', description='preprocess -> '
                            'distill -> publish -> transfer -> baseline -> report in --run-dir;'
                            ' a rerun resumes. Distils with a preset for sets that train '
                            'networks (the defaults below). --config-file: YAML or JSON of '
                            'options by the names below; the command line overrides it.')
    r.add_argument('--config-file', help='YAML or JSON file of options')
    option_sets.data_args(r, required=False)
    r.add_argument('--run-dir', help='where every stage writes and a rerun resumes (required)')
    r.add_argument('--dataset', help='kip_* TFDS dataset to publish to (default: from the '
                                     'source name, e.g. sklearn:digits -> kip_digits)')
    r.add_argument('--skip', nargs='+', choices=STAGES, metavar='STAGE',
                   help=f'stages not to run ({", ".join(STAGES)})')
    parser.names['run'] = (['source', 'tfds_data_dir', 'train_split', 'eval_split', 'run_dir',
                            'dataset', 'skip'] + option_sets.config_args(r, defaults={
        **RUN_DEFAULTS, 'augmentation': "the dataset's DSA: all six, no flip for digits",
        'factor': f'{RUN_FACTOR} for images of {RUN_FACTOR_SIDE}x{RUN_FACTOR_SIDE} and more, '
                  'else 1'})
                           + option_sets.transfer_args(r, prefix='transfer_'))
    return parser


def _distill(args, values):
    from tfkip.distill import distributed
    from tfkip.distill.config import DistillConfig
    from tfkip.pipeline import stages
    distributed.initialize(args.coordinator_address, args.num_processes, args.process_id,
                           auto=args.distributed)  # before JAX picks its devices
    config = DistillConfig.from_options(values)
    check_writable(os.path.dirname(args.out) or '.', '--out')
    data = stages.load_data(args.source, PreprocessConfig.from_options(values), args.train_split,
                            args.eval_split, args.tfds_data_dir)
    path, meta = stages.distill_to_artifact(config, *data, args.out.removesuffix('.npz'),
                                            source=args.source, log=tqdm.write,
                                            workdir=args.workdir)
    if path:
        print(json.dumps({'artifact': path, 'steps': meta.steps, **meta.metrics}))


def _evaluate(args, values):
    from tfkip.kernels.config import KernelConfig
    from tfkip.pipeline import stages
    common = dict(eval_split=args.eval_split, tfds_data_dir=args.tfds_data_dir,
                  kernel=options.pick(values, KernelConfig), reg=values.get('reg'))
    metrics = (stages.evaluate_published(args.dataset, args.data_dir, args.source, **common)
               if args.dataset else stages.evaluate_artifact(
                   args.artifact, args.source, train_split=args.train_split, **common,
                   preprocess_config=PreprocessConfig.from_options(values)))
    print(json.dumps({'artifact' if args.artifact else 'dataset': args.artifact or args.dataset,
                      'split': args.eval_split, **metrics}))


def _publish(args, values):
    from tfkip.publish import publish
    name, path = publish(args.artifact, args.dataset, args.config, args.data_dir)
    print(json.dumps({'dataset': name, 'path': path}))


def _transfer(args, values):
    from tfkip import preprocess, sources
    from tfkip.pipeline import stages
    from tfkip.transfer.robust import score_set
    from tfkip.transfer.train import TransferConfig, protocols
    score_config = option_sets.score_config({**values, 'full_accuracy': args.full_accuracy})
    if args.full_accuracy is not None and not 0 <= args.full_accuracy <= 1:
        raise TfkipError(f'--full-accuracy is a fraction in [0, 1], got {args.full_accuracy}')
    if args.full_accuracy is not None and score_config and not score_config.label_robust:
        raise TfkipError('--full-accuracy is for the Label-Robust Score, which '
                         '--no-label-robust leaves out: give one or the other')
    source = sources.open_source(args.test_source)
    test = sources.load_split(source, args.eval_split)
    if args.external_set:
        from tfkip.formats import external_set
        made, stats = external_set.load(args.external_set, test.class_names)
        if made.images.shape[1:] != test.images.shape[1:]:
            raise TfkipError(f'--external-set {args.external_set}: images of shape '
                             f'{made.images.shape[1:]}, --test-source {args.test_source} has '
                             f'{test.images.shape[1:]}')
        images, labels, architecture, dataset = made.images, made.labels, None, None
        per_class = len(images) // len(test.class_names)
    else:
        images, labels, stats, kernel = stages.load_published(args.dataset, args.data_dir)
        architecture, dataset = kernel.get('architecture'), args.dataset.partition('/')[0]
        per_class = stages.published_images_per_class(args.dataset)
    # Into the set's space, unless the source is there already (a Beam-prepared folder).
    mapped = (lambda split: split) if isinstance(source, sources.Prepared) or stats is None else (
        lambda split: preprocess.transform(stats, split))
    test = mapped(test)
    train = mapped(sources.load_split(source, args.train_split)) if score_config else None
    overrides = options.pick(values, TransferConfig, skip=('protocol',))
    log = lambda line: print(line, flush=True)
    for config in protocols(values.get('protocol'), dataset, **overrides):
        result = stages.train_on_set((config,), images, labels, test, architecture, log,
                                     'transfer')['results'][0]
        if score_config:
            result['scores'] = score_set(config, score_config, images, labels, per_class, train,
                                         test, architecture=architecture, log=log,
                                         full_accuracy=args.full_accuracy)
        print(json.dumps({'dataset': args.dataset or args.external_set, 'split': args.eval_split,
                          **result}))


def _run(args, values):
    from tfkip import pipeline
    from tfkip.pipeline.config import load_config_file
    if args.config_file:
        in_file = load_config_file(args.config_file, args.names)
        args.origin = {name: args.config_file for name in in_file if name not in values}
        values = {**in_file, **values}
    outputs = pipeline.run(pipeline.RunConfig.from_options(values), log=tqdm.write)
    if outputs.get('report'):
        print(f'Report: {outputs["report"]["markdown"]}')
    if (published := outputs.get('publish')):
        print(f'Published {published["dataset"]}. Load it with:\n  import tensorflow_datasets '
              f'as tfds\n  ds = tfds.load({published["dataset"]!r}, data_dir='
              f'{os.path.abspath(published["data_dir"])!r})')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_tensorflow()
    if argv[:1] == ['preprocess']:
        from tfkip.beam.preprocess import run
        return run(argv[1:], prog='tfkip preprocess')
    parser = build_parser()
    args = parser.parse_args([a for a in argv if a != '--debug'])
    args.names, args.origin = parser.names.get(args.command, []), {}
    configure_xla_cpu()
    tf()  # every command reads or writes with it; started here, quietly, before Keras or TFDS
    try:
        {'distill': _distill, 'evaluate': _evaluate, 'publish': _publish,
         'transfer': _transfer, 'run': _run}[args.command](args, options.given(args, args.names))
    except TfkipError as e:
        message = options.in_user_terms(str(e), args.names, argv, args.origin)
        print(f'tfkip {args.command}: error: {message}', file=sys.stderr)
        return 2
    except Exception as e:  # a bug, not bad input: one line, the traceback on --debug
        if '--debug' in argv:
            raise
        print(f'tfkip {args.command}: internal error: {type(e).__name__}: {e} (--debug shows '
              'the traceback; please report it)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
