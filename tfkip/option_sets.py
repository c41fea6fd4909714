"""The option sets of the `tfkip` commands, generated from the configuration dataclasses
(`tfkip.options`): the data options, every distillation option (DistillConfig, its
KernelConfig, each registered method's Options, PreprocessConfig) and the transfer options.
Light: the configurations import no JAX or TensorFlow."""
from tfkip import options
from tfkip.errors import TfkipError


def data_args(parser, required=True):
    """The real data's options: --source, --tfds-data-dir, --train-split, --eval-split."""
    parser.add_argument('--source', required=required,
                        help='tfds:<name> (e.g. tfds:mnist), an ImageFolder directory '
                             '(<split>/<class>/<image>), a folder written by the Beam stage '
                             '(tfkip preprocess; already preprocessed), sklearn:digits, or an '
                             '.npz with <split>_images [N,H,W,C] and <split>_labels [N]')
    parser.add_argument('--tfds-data-dir', help="TFDS data_dir for tfds: sources (default: "
                                                "TFDS's own)")
    # `run` leaves them None, so that a --config-file value is not overridden.
    parser.add_argument('--train-split', default='train' if required else None,
                        help='split to distill and to fit the preprocessing on (default: train)')
    parser.add_argument('--eval-split', default='test' if required else None,
                        help='held-out split (default: test)')


def published_args(parser, group=None):
    """--dataset and --data-dir: a set published as a TFDS dataset (`group`: a mutually
    exclusive group holding the other ways to give the set; else --dataset is required)."""
    (group or parser).add_argument('--dataset', required=group is None,
                                   help='a published set, <dataset>/<config> (e.g. kip_cifar10/'
                                        'published_kip_convnet_zca_ipc10)')
    parser.add_argument('--data-dir', help="the TFDS data_dir it was published to (default: "
                                           "TFDS's own)")


def distributed_args(parser):
    """--distributed and jax.distributed.initialize's arguments."""
    group = parser.add_argument_group(
        'several hosts', 'Steps split over all devices JAX sees. On several hosts, run the '
        "same command on each with these (or JAX's environment variables); --workdir on "
        'shared storage.')
    group.add_argument('--distributed', action='store_true', help='let JAX detect the cluster')
    for name, kind in (('coordinator_address', str), ('num_processes', int),
                       ('process_id', int)):
        group.add_argument(options.flag(name), type=kind, help="jax.distributed.initialize's")


def config_args(parser, defaults=None, only=None):
    """The options of DistillConfig (`only` those), its KernelConfig, each method's (all of
    DistillConfig's only) and PreprocessConfig."""
    from tfkip.distill import methods
    from tfkip.distill.config import DistillConfig
    from tfkip.kernels.config import KernelConfig
    from tfkip.preprocess import PreprocessConfig
    names = options.add_fields(parser, DistillConfig, defaults=defaults, only=only,
                       skip=('kernel', 'options'), title='distillation', description='; '.join(
                           f'{m.name}: {m.summary}' for m in methods.REGISTRY.values()))
    names += options.add_fields(parser, KernelConfig, defaults=defaults, title='kernel')
    for method in methods.REGISTRY.values() if only is None else ():
        names += options.add_fields(parser, method.Options, defaults=defaults,
                            title=f'--method {method.name}')
    return names + options.add_fields(
        parser, PreprocessConfig, title='preprocessing', description='fitted on '
        '--train-split; a Beam-prepared --source is preprocessed already')


def transfer_args(parser, prefix=''):
    """--<prefix>protocol and the options of TransferConfig, each preset by the protocol;
    --<prefix>scores and the options of ScoreConfig."""
    from tfkip.transfer.robust import ScoreConfig
    from tfkip.transfer.train import PROTOCOLS, TransferConfig
    group = parser.add_argument_group(
        'Keras transfer', "Each protocol presets every option below (standard: the field's "
        'ConvNet-3 evaluation; kip: the KIP authors\' training); an option given overrides it '
        'for every protocol.')
    group.add_argument(options.flag(prefix + 'protocol'), dest=prefix + 'protocol', nargs='+',
                       choices=tuple(PROTOCOLS), metavar='PROTOCOL',
                       help=f'one or more of {", ".join(PROTOCOLS)} (default: standard)')
    names = [prefix + 'protocol'] + options.add_fields(
        group, TransferConfig, skip=('protocol',), prefix=prefix, note="the protocol's")
    scores = parser.add_argument_group(
        'robust scores', "DD-Ranking's Label- and Augmentation-Robust Scores of the set under "
        'each protocol, each learning rate chosen on a tenth of the training split held out '
        '(docs/transfer.md)')
    scores.add_argument(options.flag(prefix + 'scores'), dest=prefix + 'scores',
                        action='store_true', default=None, help='measure them (hours on a CPU '
                        'for 32x32 images)')
    return names + [prefix + 'scores'] + options.add_fields(scores, ScoreConfig, prefix=prefix)


def score_config(values, prefix=''):
    """The ScoreConfig that --<prefix>scores and its options give, or None without
    --<prefix>scores, where an option of the scores (or --full-accuracy) is an error rather
    than silently unused."""
    from tfkip.transfer.robust import ScoreConfig
    fields = options.pick(values, ScoreConfig, prefix=prefix)
    if values.get(prefix + 'scores'):
        return ScoreConfig(**fields)
    unused = [prefix + name for name in fields] + (
        ['--full-accuracy'] if values.get('full_accuracy') is not None else [])
    if unused:
        raise TfkipError(f'{", ".join(unused)}: for the robust scores, which '
                         f'{options.flag(prefix + "scores")} asks for')
    return None
