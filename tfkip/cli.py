"""`tfkip` command line: the whole pipeline, or one stage at a time.

    tfkip run --source sklearn:digits --run-dir runs/digits
    tfkip distill --source .data/mnist --ipc 10 --out runs/mnist_ipc10/distilled
    tfkip evaluate --artifact runs/mnist_ipc10/distilled.npz --source .data/mnist

Heavy imports (JAX, neural-tangents) happen after argument parsing so `--help` is quick.
"""
import argparse
import dataclasses
import json
import logging
import math
import os
import sys

from tfkip._runtime import configure_xla_cpu
from tfkip.errors import TfkipError

DEFAULTS_NOTE = '(default: %(default)s)'


def _add_data_args(parser, *, eval_split_default, required=True):
    parser.add_argument('--source', required=required,
                        help='an ImageFolder directory (<split>/<class>/<image>, e.g. an '
                             'extracted ../shared/datasets archive), a folder written by '
                             'the Beam stage (pipelines/preprocess.py; already preprocessed), '
                             'tfds:<name>, or an .npz with <split>_images [N,H,W,C] and '
                             '<split>_labels [N]')
    parser.add_argument('--tfds-data-dir', default=None,
                        help="TFDS data_dir for tfds: sources (default: TFDS's own)")
    parser.add_argument('--eval-split', default=eval_split_default,
                        help='held-out split for KRR evaluation ' + DEFAULTS_NOTE)


def _add_kernel_args(parser):
    group = parser.add_argument_group('kernel')
    group.add_argument('--architecture', choices=('fc', 'convnet'), default='fc',
                       help='infinite-width network: fully connected or the KIP ConvNet '
                            '(3x3 conv + ReLU + 2x2 avg-pool blocks) ' + DEFAULTS_NOTE)
    group.add_argument('--depth', type=int, default=1,
                       help='hidden layers (fc) or conv blocks (convnet) ' + DEFAULTS_NOTE)
    group.add_argument('--kernel', choices=('ntk', 'nngp'), default='ntk',
                       help='neural tangent kernel or NNGP kernel ' + DEFAULTS_NOTE)
    group.add_argument('--w-std', type=float, default=math.sqrt(2),
                       help='weight standard deviation ' + DEFAULTS_NOTE)
    group.add_argument('--b-std', type=float, default=0.1,
                       help='bias standard deviation ' + DEFAULTS_NOTE)
    group.add_argument('--prepend-conv', action='store_true',
                       help='convnet: add one 3x3 conv + ReLU before the blocks')
    group.add_argument('--readout', choices=('flatten', 'gap'), default='flatten',
                       help='convnet: Flatten (the paper\'s) or global average pooling '
                            'before the readout layer ' + DEFAULTS_NOTE)
    group.add_argument('--kernel-impl', choices=('auto', 'fast', 'neural_tangents'),
                       default='auto',
                       help='kernel implementation: fast (tfkip\'s exact FC and ConvNet kernels: '
                            'the same values, much faster), neural_tangents (the reference), '
                            'or auto (= fast) ' + DEFAULTS_NOTE)
    group.add_argument('--block-size', type=int, default=None,
                       help='kernel blocks hold at most BLOCK_SIZE**2 image pairs; bounds '
                            'memory (default: 1024 for fc; the fast convnet kernel sizes '
                            'blocks from the memory budget)')
    group.add_argument('--reg', type=float, default=1e-6,
                       help='KRR ridge, relative to the mean eigenvalue tr(K_ss)/|S| '
                            + DEFAULTS_NOTE)


def _add_distill_args(parser):
    """KIP / Label Solve options and the kernel's (`distill` and `run`)."""
    parser.add_argument('--method', default='kip',
                        choices=('kip', 'rfad', 'dd', 'ls', 'random', 'herding', 'kcenter'),
                        help='kip: learn images (and labels) on the exact kernel; rfad: learn '
                             'them on random features of finite networks (RFAD, Loo et al. '
                             '2022; needs --kernel nngp, the kernel it approximates and is '
                             'evaluated with); dd: learn them by differentiating through the '
                             'training of a finite network (Wang et al. 2018; --dd-* options); '
                             'ls: Label Solve; random, herding, kcenter: a coreset of real '
                             'images (one-hot labels). The kernel options set the KRR '
                             'evaluation of every method ' + DEFAULTS_NOTE)
    parser.add_argument('--ipc', type=int, default=10, help='images per class ' + DEFAULTS_NOTE)
    parser.add_argument('--steps', type=int, default=1000, help='KIP steps ' + DEFAULTS_NOTE)
    parser.add_argument('--learning-rate', type=float, default=0.01,
                        help='Adam learning rate ' + DEFAULTS_NOTE)
    parser.add_argument('--lr-schedule', choices=('constant', 'cosine'), default='constant',
                        help='constant, or cosine decay from --learning-rate to 0 over --steps '
                             + DEFAULTS_NOTE)
    parser.add_argument('--target-batch-size', type=int, default=1000,
                        help='real images per KIP step, class-balanced ' + DEFAULTS_NOTE)
    parser.add_argument('--loss', choices=('mse', 'platt'), default='mse',
                        help="mse (KIP's), or platt: RFAD's cross-entropy of the KRR "
                             'predictions with a learned temperature ' + DEFAULTS_NOTE)
    parser.add_argument('--rf-models', type=int, default=8,
                        help='rfad: finite networks drawn afresh every step ' + DEFAULTS_NOTE)
    parser.add_argument('--rf-width', type=int, default=128,
                        help='rfad: channels (convnet) or units (fc) of those networks '
                             + DEFAULTS_NOTE)
    dd = parser.add_argument_group('DD (--method dd)')
    dd.add_argument('--dd-architecture', choices=('fc', 'convnet'), default='convnet',
                    help='the finite network trained in the inner loop ' + DEFAULTS_NOTE)
    dd.add_argument('--dd-depth', type=int, default=3,
                    help='its hidden layers or conv blocks ' + DEFAULTS_NOTE)
    dd.add_argument('--dd-width', type=int, default=32,
                    help='its hidden units or channels ' + DEFAULTS_NOTE)
    dd.add_argument('--dd-inner-steps', type=int, default=10,
                    help='unrolled gradient steps per outer step; memory grows with them '
                         '(parameters per step, activations recomputed) ' + DEFAULTS_NOTE)
    dd.add_argument('--dd-step-size', type=float, default=0.01,
                    help='initial inner step size (each step\'s is learned) ' + DEFAULTS_NOTE)
    dd.add_argument('--dd-fixed-init', dest='dd_random_init', action='store_false',
                    help='one fixed network initialisation (default: a fresh one every step)')
    parser.add_argument('--augmentation', nargs='*', default=[], metavar='OP',
                        help='kip, rfad: DSA groups applied to the support images inside the '
                             'loss, one drawn per step (color crop cutout flip scale rotate); '
                             'the flag alone: none (default: none for tfkip distill; tfkip run: '
                             'all six, no flip for digit datasets)')
    parser.add_argument('--no-learn-labels', dest='learn_labels', action='store_false',
                        help='keep the support labels fixed (one-hot minus 1/C; tfkip run\'s '
                             'default)')
    parser.add_argument('--learn-labels', dest='learn_labels', action='store_true',
                        help='learn the support labels too (tfkip distill\'s default)')
    parser.add_argument('--learn-hparams', action='store_true',
                        help="also learn the kernel's W_std and b_std")
    parser.add_argument('--final-label-solve', action='store_true',
                        help='after KIP, replace the labels by the closed-form Label Solve '
                             'labels for the learned images over the whole training split')
    parser.add_argument('--seed', type=int, default=0, help='random seed ' + DEFAULTS_NOTE)
    parser.add_argument('--eval-every', type=int, default=500,
                        help='steps between held-out evaluations; 0: only at the end '
                             + DEFAULTS_NOTE)
    parser.add_argument('--eval-size', type=int, default=2000,
                        help='held-out examples per periodic evaluation (the final one uses '
                             'all) ' + DEFAULTS_NOTE)
    parser.add_argument('--checkpoint-every', type=int, default=500,
                        help='steps between checkpoints ' + DEFAULTS_NOTE)
    _add_kernel_args(parser)


def _add_preprocess_args(parser, title):
    prep = parser.add_argument_group(title)
    prep.add_argument('--no-standardize', dest='standardize', action='store_false',
                      help='skip per-channel standardization (default: standardize)')
    prep.add_argument('--per-image-norm', action='store_true',
                      help='centre each image and scale it to unit mean square')
    prep.add_argument('--zca-reg', type=float, default=None,
                      help='apply regularized ZCA with this lambda (0.1 in the paper for '
                           'CIFAR-10; default: no ZCA)')


def _kernel_config(args):
    from tfkip.kernels.kernel import KernelConfig
    return KernelConfig(architecture=args.architecture, depth=args.depth, kernel=args.kernel,
                        W_std=args.w_std, b_std=args.b_std, prepend_conv=args.prepend_conv,
                        readout=args.readout, implementation=args.kernel_impl,
                        block_size=args.block_size)


def _distill_config(args):
    from tfkip.distill.train import DistillConfig
    return DistillConfig(
        kernel=_kernel_config(args), method=args.method, images_per_class=args.ipc,
        steps=args.steps, learning_rate=args.learning_rate, lr_schedule=args.lr_schedule,
        target_batch_size=args.target_batch_size, reg=args.reg, loss=args.loss,
        rf_models=args.rf_models, rf_width=args.rf_width, dd_architecture=args.dd_architecture,
        dd_depth=args.dd_depth, dd_width=args.dd_width, dd_inner_steps=args.dd_inner_steps,
        dd_step_size=args.dd_step_size, dd_random_init=args.dd_random_init,
        augmentation=tuple(args.augmentation), learn_labels=args.learn_labels,
        learn_hparams=args.learn_hparams,
        final_label_solve=args.final_label_solve, seed=args.seed,
        eval_every=args.eval_every, eval_size=args.eval_size,
        checkpoint_every=args.checkpoint_every)


# The transfer options each protocol presets; a flag given overrides them all.
_TRANSFER_OPTIONS = (
    ('model', str, 'convnet, mlp, or auto: the network of the kernel the set was distilled '
                   'with (mlp for fc)'),
    ('width', int, 'conv channels (mlp: units)'), ('depth', int, 'conv blocks (mlp: layers)'),
    ('normalization', str, 'none, instance or batch'), ('pooling', str, 'avg or max'),
    ('init', str, "keras (Keras's initialisers) or kernel (N(0, W_std^2/fan_in))"),
    ('loss', str, 'xent (argmax labels), mse (label vectors) or auto (xent for one-hot '
                  'labels, mse for learned ones)'),
    ('optimizer', str, 'sgd or adam'), ('learning_rate', float, 'learning rate'),
    ('momentum', float, 'SGD momentum'), ('weight_decay', float, 'L2 weight decay'),
    ('schedule', str, 'step (x0.1 at half), cosine or constant'),
    ('epochs', int, 'passes over the set'), ('steps', int, 'batches (overrides --epochs)'),
    ('batch_size', int, 'batch size (capped at the set size)'))


def _add_transfer_args(parser, prefix=''):
    """The Keras transfer protocol's options, named --<prefix><option> (`transfer` takes
    them plain; `run`, whose KIP options have the same names, with prefix 'transfer-')."""
    from tfkip.transfer.train import PROTOCOLS
    group = parser.add_argument_group(
        'Keras transfer', 'Each protocol presets every option below (standard: ConvNet-3 '
        'width 128, instance norm, SGD 0.01 momentum 0.9, weight decay 5e-4, lr x0.1 at half, '
        '1000 epochs, batch 256, DSA augmentation; kip: the KIP authors\' ConvNet training, '
        'MSE, 5000 steps, batch 100, cosine, L2 1e-3); a flag given overrides it for every '
        'protocol.')
    group.add_argument(f'--{prefix}protocol', nargs='+', default=['standard'],
                       choices=tuple(PROTOCOLS), metavar='PROTOCOL',
                       help=f'one or more of {", ".join(PROTOCOLS)} ' + DEFAULTS_NOTE)
    for field, kind, help_text in _TRANSFER_OPTIONS:
        group.add_argument(f'--{prefix}{field.replace("_", "-")}', type=kind, default=None,
                           help=help_text + " (default: the protocol's)")
    group.add_argument(f'--{prefix}augmentation', nargs='*', default=None, metavar='OP',
                       help='DSA groups applied in training (color crop cutout flip scale '
                            "rotate); none: give the flag alone (default: the protocol's; "
                            'standard drops flip for digit datasets)')
    group.add_argument(f'--{prefix}seeds', type=int, nargs='+', default=None,
                       help="one model per seed (default: the protocol's, 0 1 2 3 4)")


def _transfer_configs(args, prefix='', dataset=None):
    """One TransferConfig per protocol named, with the flags given as overrides."""
    from tfkip import augment
    from tfkip.transfer.train import protocol
    dest = prefix.replace('-', '_')
    overrides = {field: getattr(args, dest + field) for field, _, _ in _TRANSFER_OPTIONS}
    overrides['seeds'] = getattr(args, dest + 'seeds')
    augmentation = getattr(args, dest + 'augmentation')
    configs = []
    for name in dict.fromkeys(getattr(args, dest + 'protocol')):
        config = protocol(name, **overrides)
        ops = (augmentation if augmentation is not None else
               [op for op in config.augmentation if op in augment.for_dataset(dataset)])
        configs.append(dataclasses.replace(config, augmentation=tuple(ops)))
    return tuple(configs)


def _preprocess_config(args):
    from tfkip.preprocess import PreprocessConfig
    return PreprocessConfig(standardize=args.standardize, per_image_norm=args.per_image_norm,
                            zca=args.zca_reg is not None, zca_reg=args.zca_reg or 0.0)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='tfkip', description='Dataset distillation with infinitely wide networks '
        '(KIP, Label Solve; Nguyen et al. 2021).')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    # Listed for --help; main() hands its arguments to the Beam stage's own parser.
    commands.add_parser('preprocess', add_help=False,
                        help='Beam stage: standardize + regularized ZCA, write TFRecord '
                             'shards (tfkip preprocess --help)')

    d = commands.add_parser(
        'distill', help='learn a distilled set with KIP or Label Solve',
        description='Learn a small support set from --source with KIP (gradient descent '
        'on the KRR loss of real target batches) or Label Solve (real images, '
        'closed-form labels). Writes OUT.npz (images [N,H,W,C], labels [N,C]) and '
        'OUT.json (config, preprocessing, metrics, checksum).')
    _add_data_args(d, eval_split_default='test')
    d.add_argument('--train-split', default='train', help='split to distill ' + DEFAULTS_NOTE)
    d.add_argument('--out', required=True, help='output path (OUT.npz and OUT.json)')
    _add_distill_args(d)
    _add_preprocess_args(d, 'in-memory preprocessing (fitted on --train-split; not for '
                            'Beam-prepared sources, which are preprocessed already)')
    d.add_argument('--workdir', default=None,
                   help='checkpoint directory; a rerun with the same options resumes '
                        'from it (default: OUT.ckpt)')
    m = d.add_argument_group(
        'several devices and hosts', 'Every KIP step is split over all devices JAX sees (the '
        'target batch and the support kernel by rows). For several hosts, start the same '
        'command on each with the three values below (or the environment variables '
        'JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID), or with --distributed '
        'on a TPU pod slice, SLURM or Open MPI. Process 0 writes the checkpoints and OUT; '
        'every host reads --workdir, so put it on a shared filesystem or bucket.')
    m.add_argument('--distributed', action='store_true',
                   help='start JAX\'s distributed runtime, letting JAX detect the cluster')
    m.add_argument('--coordinator-address', default=None, metavar='HOST:PORT',
                   help='address of process 0\'s coordinator service')
    m.add_argument('--num-processes', type=int, default=None, help='processes in all')
    m.add_argument('--process-id', type=int, default=None, help='this process, 0-based')

    e = commands.add_parser(
        'evaluate', help='KRR accuracy of a distilled set on real data',
        description='Kernel ridge regression with the distilled set as training data, '
        'tested on --eval-split of --source. Kernel and preprocessing come from the '
        "artifact's sidecar when it has one; otherwise from the flags.")
    e.add_argument('--artifact', required=True, help='a distilled set (.npz)')
    _add_data_args(e, eval_split_default='test')
    e.add_argument('--train-split', default='train',
                   help='split the preprocessing statistics are refitted on (raw sources, '
                        'artifact without a .preprocess.npz) ' + DEFAULTS_NOTE)
    e.add_argument('--no-standardize', dest='standardize', action='store_false',
                   help='artifact without sidecar: do not standardize the test images')
    e.add_argument('--per-image-norm', action='store_true',
                   help='artifact without sidecar: normalize each test image')
    e.add_argument('--zca-reg', type=float, default=None,
                   help='artifact without sidecar: regularized ZCA with this lambda')
    _add_kernel_args(e)

    from tfkip.publish.publish import DATASETS  # no heavy imports: a tuple of names
    p = commands.add_parser(
        'publish', help='publish a distilled set as a TFDS dataset',
        description='Build <dataset>/<config> from a distilled-set artifact into a TFDS '
        "data_dir; afterwards tfds.load('<dataset>/<config>', data_dir=DATA_DIR) works, "
        'also in programs that never import tfkip. The artifact must fit the config '
        '(method, kernel, ZCA, learned labels, images per class, image shape, classes).')
    p.add_argument('--artifact', required=True, help='a distilled set (.npz)')
    p.add_argument('--dataset', required=True, choices=DATASETS, help='the TFDS dataset')
    p.add_argument('--config', default=None,
                   help='builder config, [rfad_]<kernel>[_zca][_fixedlabels]_ipc<N>, e.g. '
                        'convnet_zca_ipc10 (default: the one the artifact was made for)')
    p.add_argument('--data-dir', required=True, help='TFDS data_dir to build into')

    t = commands.add_parser(
        'transfer', help='train a finite Keras ConvNet on a published set, test on real data',
        description="Train the Keras ConvNet on tfds.load('<dataset>/<config>') (a published "
        'distilled set) once per seed and test it on --eval-split of --test-source, whose '
        "images are whitened by the set's own preprocessing (info.metadata). Prints the "
        'accuracy of each seed and their mean and std.')
    t.add_argument('--dataset', required=True, help='<dataset>/<config>, e.g. kip_mnist/fc_ipc10')
    t.add_argument('--data-dir', required=True, help='TFDS data_dir it was published to')
    t.add_argument('--test-source', required=True,
                   help='the real data (ImageFolder, .npz, tfds:<name>) in its raw pixels')
    t.add_argument('--eval-split', default='test', help='real split to test on ' + DEFAULTS_NOTE)
    _add_transfer_args(t)

    from tfkip.pipeline import STAGES  # no heavy imports either
    r = commands.add_parser(
        'run', help='the whole pipeline: preprocess, distill, publish, transfer, report',
        description='Beam preprocessing -> distillation -> TFDS publish -> Keras '
        'transfer -> random-subset baseline -> report, in --run-dir. The distillation '
        'defaults to a preset for sets that train networks (RFAD on the ConvNet family, '
        'fixed labels, DSA augmentation in the loss; the defaults below), unlike tfkip '
        'distill; the report compares the set with a random real subset under each '
        '--transfer-protocol. A rerun with the same '
        'options skips finished stages and resumes KIP from its last checkpoint; a changed '
        'option reruns its stage and every later one. --config-file (YAML or JSON, keys are '
        'the option names below, e.g. ipc: 10, learning_rate: 0.01) holds options; the '
        'command line overrides it. Quick start, no download: '
        'tfkip run --source sklearn:digits --run-dir runs/digits')
    r.add_argument('--config-file', default=None,
                   help='YAML or JSON file of options (command-line options override it)')
    _add_data_args(r, eval_split_default='test', required=False)
    r.add_argument('--train-split', default='train', help='split to distill ' + DEFAULTS_NOTE)
    r.add_argument('--run-dir', default=None,
                   help='where every stage writes and a rerun resumes (required)')
    r.add_argument('--dataset', default=None,
                   help='kip_* TFDS dataset to publish to (default: from the source name, '
                        'e.g. sklearn:digits -> kip_digits, .data/mnist -> kip_mnist)')
    r.add_argument('--skip', nargs='+', default=[], choices=STAGES, metavar='STAGE',
                   help=f'stages not to run ({", ".join(STAGES)}); later stages use their '
                        'earlier outputs if the run directory has them')
    _add_distill_args(r)
    _add_preprocess_args(r, 'preprocessing (the Beam stage; in memory if it is skipped)')
    _add_transfer_args(r, prefix='transfer-')
    from tfkip.pipeline import RUN_DEFAULTS
    r.set_defaults(**RUN_DEFAULTS)  # augmentation None: the dataset's DSA groups
    parser.run_parser = r  # main() sets its defaults from --config-file
    return parser


def _distill(args):
    from tfkip.artifacts import distilled_set
    from tfkip.distill import distributed
    from tfkip.distill.train import distill
    from tfkip import preprocess, sources

    distributed.initialize(args.coordinator_address, args.num_processes, args.process_id,
                           auto=args.distributed)  # before JAX picks its devices
    config = _distill_config(args)
    source = sources.open_source(args.source, tfds_data_dir=args.tfds_data_dir)
    train = sources.load_split(source, args.train_split)
    eval_data = sources.load_split(source, args.eval_split) if args.eval_split else None
    if isinstance(source, sources.Prepared):
        stats = source.stats()
    else:
        stats = preprocess.fit(_preprocess_config(args), train)
        train = preprocess.transform(stats, train)
        eval_data = preprocess.transform(stats, eval_data) if eval_data is not None else None
    preprocessing = {'prepared': isinstance(source, sources.Prepared), **stats.describe()}
    out = args.out[:-4] if args.out.endswith('.npz') else args.out
    result = distill(config, train, eval_data=eval_data, workdir=args.workdir or out + '.ckpt')
    if not distributed.is_writer():
        return
    metadata = dict(result.metadata, preprocessing=preprocessing, source=args.source)
    path = distilled_set.save(dataclasses.replace(result, metadata=metadata), out,
                              preprocessing=stats)
    print(json.dumps({'artifact': path, 'steps': metadata['steps'], **metadata['metrics']}))


def _evaluate(args):
    import numpy as np
    from tfkip.artifacts import distilled_set
    from tfkip.distill.krr import evaluate
    from tfkip.kernels.kernel import KernelConfig, make_kernel_fn
    from tfkip import preprocess, sources

    artifact = distilled_set.load(args.artifact)
    meta = artifact.metadata
    source = sources.open_source(args.source, tfds_data_dir=args.tfds_data_dir)
    test = sources.load_split(source, args.eval_split)
    if 'config' in meta:
        kernel = KernelConfig(**meta['config']['kernel'])
        reg = meta['config']['reg']
        hparams = {k: np.float32(v) for k, v in meta['hparams'].items()}
    else:
        kernel, reg = _kernel_config(args), args.reg
        hparams = kernel.initial_hparams()
    prep = meta.get('preprocessing')
    if prep is not None and prep['prepared'] != isinstance(source, sources.Prepared):
        kind = 'a Beam-prepared folder' if prep['prepared'] else 'raw images'
        raise TfkipError(f'{args.artifact} was distilled from {kind} ({meta["source"]}); '
                         f'evaluate it with a --source of the same kind, not {args.source}')
    if not isinstance(source, sources.Prepared):
        stats = distilled_set.load_preprocessing(artifact)
        if stats is None:  # no statistics file: refit on the train split (it is deterministic)
            config = (preprocess.PreprocessConfig(**prep['config']) if prep is not None
                      else _preprocess_config(args))
            stats = preprocess.fit(config, sources.load_split(source, args.train_split))
        test = preprocess.transform(stats, test)
    artifact.check_matches(test.image_shape, test.num_classes, test.source)
    metrics = evaluate(make_kernel_fn(kernel, test.num_classes), hparams, artifact.images,
                       artifact.labels, test.images, test.labels, reg=reg)
    print(json.dumps({'artifact': args.artifact, 'split': args.eval_split, **metrics}))


def _publish(args):
    from tfkip.publish import publish
    name, path = publish(args.artifact, args.dataset, args.config, args.data_dir)
    print(json.dumps({'dataset': name, 'path': path}))


def _transfer(args):
    import tensorflow_datasets as tfds
    from tfkip import sources
    from tfkip.publish import builder_class
    from tfkip.transfer import ZCAWhitening, train_and_evaluate

    dataset = args.dataset.split('/')[0]
    builder_class(dataset)  # registers it: info.metadata has the stats
    builder = tfds.builder(args.dataset, data_dir=args.data_dir)
    if not builder.is_prepared():
        raise TfkipError(f'{args.dataset} is not published in {args.data_dir}; run '
                         'tfkip publish first')
    rows = tfds.as_numpy(builder.as_dataset('train', batch_size=-1))
    source = sources.open_source(args.test_source)
    test = sources.load_split(source, args.eval_split)
    stats = builder.info.metadata.stats
    whitening = (None if isinstance(source, sources.Prepared) or stats is None
                 else ZCAWhitening.from_stats(stats))
    for config in _transfer_configs(args, dataset=dataset):
        result = train_and_evaluate(
            config, rows['image'], rows['soft_label'], test.images, test.labels,
            whitening=whitening, architecture=builder.builder_config.variant.kernel,
            progress=lambda seed, acc: print(f'{config.protocol} seed {seed}: test accuracy '
                                             f'{acc:.4f}', flush=True))
        print(json.dumps({'dataset': args.dataset, 'split': args.eval_split, **result}))


def _run(args):
    from tfkip import pipeline
    from tfkip.publish import dataset_for_source
    for name in ('source', 'run_dir'):
        if getattr(args, name) is None:
            raise TfkipError(f'--{name.replace("_", "-")} is required (on the command line '
                             'or in --config-file)')
    dataset = args.dataset or dataset_for_source(args.source)
    if dataset is None:
        raise TfkipError(f'cannot tell which kip_* dataset {args.source} is; give --dataset')
    if args.augmentation is None:
        from tfkip import augment
        from tfkip.distill.train import AUGMENTED_METHODS
        args.augmentation = (augment.for_dataset(dataset) if args.method in AUGMENTED_METHODS
                             else ())
    config = pipeline.RunConfig(
        source=args.source, run_dir=args.run_dir, dataset=dataset,
        preprocess=_preprocess_config(args), distill=_distill_config(args),
        transfer=_transfer_configs(args, 'transfer-', dataset), skip=tuple(args.skip),
        train_split=args.train_split, eval_split=args.eval_split,
        tfds_data_dir=args.tfds_data_dir)
    outputs = pipeline.run(config, log=_log)
    report, published = outputs.get('report') or {}, outputs.get('publish')
    if report:
        print(f'Report: {report["markdown"]}')
    if published:
        print(f'Published {published["dataset"]} in {published["data_dir"]}. Load it with:\n'
              f'  import tensorflow_datasets as tfds\n'
              f'  ds = tfds.load(\'{published["dataset"]}\', data_dir=\'{published["data_dir"]}\')')


def _log(line):
    from tqdm.auto import tqdm
    tqdm.write(line)


def _parse(argv):
    """Parses argv; for `run`, options from --config-file become the defaults first."""
    parser = build_parser()
    if argv[:1] == ['run']:
        peek = argparse.ArgumentParser(add_help=False)
        peek.add_argument('--config-file')
        path = peek.parse_known_args(argv[1:])[0].config_file
        if path:
            from tfkip.pipeline.config import load_config_file
            allowed = [a.dest for a in parser.run_parser._actions
                       if a.dest not in ('help', 'config_file')]
            try:
                parser.run_parser.set_defaults(**load_config_file(path, allowed))
            except TfkipError as e:
                parser.run_parser.error(str(e))
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # TensorFlow's C++ start-up logging would bury the progress bar; a user's own
    # TF_CPP_MIN_LOG_LEVEL wins.
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    if argv[:1] == ['preprocess']:
        from tfkip.preprocess.beam import run
        return run(argv[1:], prog='tfkip preprocess')
    args = _parse(argv)
    # Keras warns of tf.function retracing once per model it builds; the CLI builds one per
    # seed on purpose.
    logging.getLogger('tensorflow').setLevel(logging.ERROR)
    configure_xla_cpu()
    try:
        {'distill': _distill, 'evaluate': _evaluate, 'publish': _publish,
         'transfer': _transfer, 'run': _run}[args.command](args)
    except TfkipError as e:
        print(f'tfkip {args.command}: error: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
