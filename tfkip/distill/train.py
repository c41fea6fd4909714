"""The distillation loop, from labelled images to a DistilledSet, for any registered method.

    distilled = distill(DistillConfig(...), train, eval_data=test, workdir='runs/x')

The loop knows no method by name: the config's method (`tfkip.distill.methods`) gives the
starting support set, the init/update pair of its steps (if it learns) and its last touch.
Every result is evaluated by KRR with `config.kernel`. The learning methods checkpoint
every `checkpoint_every` steps into `workdir` and resumes from there:
target batches are drawn from (seed, step) alone, so a resumed run takes exactly the
steps an uninterrupted one would. Evaluation (KRR in float64 on a held-out split)
runs every `eval_every` steps on `eval_size` examples, and once at the end on all.
"""
import dataclasses
import hashlib
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from tfkip.formats.distilled_set import DistilledSet, Metadata
from tfkip.distill import distributed, formation
from tfkip.formats import checkpoint
from tfkip.distill.config import DistillConfig  # noqa: F401 (its home before config.py)
from tfkip.distill.krr import centered_one_hot, evaluate
from tfkip.distill.methods.ls.solve import label_solve
from tfkip.distill.sampling import TARGET_STREAM, ClassIndex, random_subset, rng
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import make_kernel_fn

EVAL_STREAM = 2
# Options that may change when a run is resumed (e.g. to run it longer).
_RESUMABLE_CHANGES = ('steps', 'eval_every', 'eval_size', 'checkpoint_every', 'log_every')


def _fingerprint(config, train):
    """Identifies (config less resumable options, training data) for checkpoints."""
    changeable = _RESUMABLE_CHANGES
    if config.lr_schedule != 'constant':  # the schedule depends on the total steps
        changeable = tuple(k for k in changeable if k != 'steps')
    fixed = {k: v for k, v in config.to_dict().items() if k not in changeable}
    digest = hashlib.sha256(json.dumps(fixed, sort_keys=True).encode())
    digest.update(str(train.images.shape).encode())
    digest.update(train.labels.tobytes())
    digest.update(np.float64(train.images.sum(dtype=np.float64)).tobytes())
    return digest.hexdigest()[:16]


def _check_data(config, train, eval_data):
    config.kernel.check_input_shape(train.image_shape)
    if any(side % config.factor for side in train.image_shape[:2]):
        raise TfkipError(f'factor {config.factor} does not divide {train.source}\'s '
                         f'{train.image_shape[0]} x {train.image_shape[1]} images')
    index = ClassIndex(train.labels, train.num_classes, train.source)
    index.check_per_class(config.images_per_class * config.factor ** 2,
                          'images_per_class' + (' x factor**2' if config.factor > 1 else ''))
    if config.algorithm.learns:
        if config.target_batch_size % train.num_classes:
            raise TfkipError(
                f'target_batch_size ({config.target_batch_size}) must be a multiple of '
                f'the number of classes ({train.num_classes}) for class-balanced batches')
        index.check_per_class(config.target_batch_size // train.num_classes,
                              'target_batch_size / num_classes')
    if eval_data is not None:
        if eval_data.image_shape != train.image_shape:
            raise TfkipError(f'{eval_data.source}: images are {eval_data.image_shape}, '
                             f'the training images {train.image_shape}')
        if eval_data.num_classes != train.num_classes:
            raise TfkipError(f'{eval_data.source}: {eval_data.num_classes} classes, '
                             f'the training data {train.num_classes}')


def _eval_subset(eval_data, size, seed):
    if size is None or size >= len(eval_data):
        return eval_data.images, eval_data.labels
    idx = np.sort(rng(seed, EVAL_STREAM).choice(len(eval_data), size, replace=False))
    return eval_data.images[idx], eval_data.labels[idx]


def initial_params(config, train):
    """The starting support set, as stored: `images_per_class` x factor**2 real images of
    each class drawn with `config.seed` (`formation.encode`d, factor**2 to a stored image),
    centered one-hot labels, and the config's kernel hyperparameters.

    Returns:
      {'images': [S, H, W, C] float32, 'labels': [S, C] float32, 'hparams': {...}}, and the
      method's own (`extra_params`: e.g. 'log_temperature' [] float32 with the 'platt' loss).
    """
    per_image = config.factor ** 2
    support = random_subset(train, config.images_per_class * per_image, config.seed)
    return {'images': jnp.asarray(formation.encode(train.images[support], config.factor)),
            'labels': centered_one_hot(train.labels[support[::per_image]], train.num_classes),
            'hparams': config.kernel.initial_hparams(), **config.algorithm.extra_params(config)}


def evaluate_start(config, train, test):
    """The real class-balanced subset KIP starts from at factor 1, and its KRR metrics on
    `test`: the random-subset baseline of a distilled set of the same storage (at any factor:
    `images_per_class` real images of each class).

    Returns:
      (images [S, H, W, C] float32, labels [S, C] float32 centered one-hot,
       {'accuracy', 'mse'}, or None where `config.final_eval` is off as for the set).
    """
    params = initial_params(dataclasses.replace(config, factor=1), train)
    images, labels = np.asarray(params['images']), np.asarray(params['labels'])
    if not config.final_eval:
        return images, labels, None
    metrics = evaluate(make_kernel_fn(config.kernel, train.num_classes), params['hparams'],
                       images, labels, test.images, test.labels, reg=config.reg)
    return images, labels, metrics


def distill(config, train, *, eval_data=None, workdir=None, log=tqdm.write,
            progress=True, mesh=None):
    """Runs the config's method: KIP, RFAD, DD, Label Solve, a coreset, ...

    Args:
      config: a DistillConfig.
      train: LabeledImages, the real data (support initialisation and targets).
      eval_data: LabeledImages for held-out KRR evaluation, or None.
      workdir: directory for checkpoints (the learning methods resume from it), or None.
      log: called with one line per evaluation.
      progress: show a progress bar.
      mesh: the devices each step is split over (`distributed.target_mesh`; default:
        every device of every process). Only process 0 logs and writes checkpoints.

    Returns:
      DistilledSet whose `Metadata` records the config, steps, history, losses, final
      metrics, wall time, data, and in `extra` the method's own (e.g. 'platt_temperature',
      'dd_step_sizes', 'dd_fresh_network_accuracy').
    """
    _check_data(config, train, eval_data)
    if not distributed.is_writer():
        log, progress = (lambda _: None), False
    start_time = time.time()
    method, num_classes = config.algorithm, train.num_classes
    kernel_fn = make_kernel_fn(config.kernel, num_classes)
    params = method.start(config, train, initial_params(config, train))
    history, losses, step, earlier = [], [], 0, 0.0

    def run_eval(params, images, labels):
        support = formation.decoded(params, config.factor)
        return evaluate(kernel_fn, params['hparams'], np.asarray(support['images']),
                        np.asarray(support['labels']), images, labels, reg=config.reg)

    def solve_labels(params):
        labels = label_solve(kernel_fn, params['hparams'], np.asarray(params['images']),
                             train.images, train.labels, num_classes=num_classes,
                             reg=config.reg)
        return dict(params, labels=jnp.asarray(labels))

    if method.learns:
        params, history, losses, step, earlier = _run_steps(
            config, train, params, eval_data, workdir, log, progress, run_eval,
            mesh if mesh is not None else distributed.target_mesh())
    before_label_solve = None
    if config.final_label_solve:
        if eval_data is not None:
            before_label_solve = run_eval(params, eval_data.images, eval_data.labels)
            log(f'before the final Label Solve: {eval_data.source} KRR accuracy '
                f'{before_label_solve["accuracy"]:.4f}')
        params = solve_labels(params)
    params, own = method.finish(config, params, {
        'kernel_fn': kernel_fn, 'train': train, 'eval_data': eval_data, 'log': log,
        'run_eval': run_eval, 'label_solve': solve_labels})
    metrics = {}
    if eval_data is not None and config.final_eval:
        metrics = run_eval(params, eval_data.images, eval_data.labels)
        log(f'final: {eval_data.source} KRR accuracy {metrics["accuracy"]:.4f} '
            f'mse {metrics["mse"]:.5f} ({len(eval_data)} examples)')
    metadata = Metadata(
        method=config.method, config=config.to_dict(), steps=step,
        hparams={k: float(v) for k, v in params['hparams'].items()}, history=history,
        losses=losses, metrics=metrics, metrics_before_label_solve=before_label_solve,
        wall_time_s=earlier + time.time() - start_time, class_names=list(train.class_names),
        train_source=train.source, num_train_examples=len(train),
        eval_source=eval_data.source if eval_data is not None else None, extra=own)
    return DistilledSet(np.asarray(params['images']), np.asarray(params['labels']), metadata)


def _run_steps(config, train, params, eval_data, workdir, log, progress, run_eval, mesh):
    """The training loop of a learning method over `mesh`; returns (params, history, losses,
    steps done, seconds the run had spent before this process resumed it)."""
    index = ClassIndex(train.labels, train.num_classes, train.source)
    pair = config.algorithm.pair(config, train.num_classes, train.image_shape, mesh)
    state = pair.init(params)
    history, losses = [], []  # evaluations; the loss every log_every steps
    earlier = 0.0  # wall time of the run before this process, across resumes
    fingerprint = _fingerprint(config, train)
    if workdir:
        restored = checkpoint.restore(workdir, state, fingerprint)
        if restored is not None:
            state, meta = restored
            history, losses = meta['history'], meta.get('losses', [])
            # Checkpoints before 'seconds' was saved: the last evaluation's time.
            earlier = meta.get('seconds', history[-1].get('seconds', 0.0) if history else 0.0)
            log(f'resumed from {workdir} at step {int(state.step)}')
    state = distributed.replicate(state, mesh)
    # The state is replaced every step: donated, a pool of networks is updated in place.
    update = jax.jit(pair.update, donate_argnums=0)
    one_hot = np.asarray(centered_one_hot(np.arange(train.num_classes), train.num_classes))
    load = lambda rows: (train.images[rows], one_hot[train.labels[rows]])
    eval_images, eval_labels = (_eval_subset(eval_data, config.eval_size, config.seed)
                                if eval_data is not None else (None, None))
    per_class = config.target_batch_size // train.num_classes
    evaluating = eval_data is not None and config.eval_every

    # Wall time of the run so far, across resumes: the curve against time, not just steps.
    clock = time.time() - earlier

    def record(params, step, loss):
        """One held-out evaluation into `history`, timed apart from the steps (at 10 images
        per class a check can cost minutes); returns its metrics."""
        start = time.time()
        result = run_eval(params, eval_images, eval_labels)
        end = time.time()
        history.append({'step': step, 'loss': loss, 'eval_accuracy': result['accuracy'],
                        'eval_mse': result['mse'], 'seconds': end - clock,
                        'eval_seconds': end - start})
        return result

    first = int(state.step)
    if evaluating and first == 0:
        record(state.params, 0, None)  # the curve's start: the real images
    bar = tqdm(total=config.steps, initial=min(first, config.steps), disable=not progress,
               desc=config.method.upper(), unit='step', dynamic_ncols=True)
    for step in range(first, config.steps):
        batch = index.sample(per_class, rng(config.seed, TARGET_STREAM, step))
        state, metrics = update(state, *distributed.shard_targets(mesh, batch, load))
        done = step + 1
        if done % config.log_every == 0 or done == config.steps:
            loss = float(metrics['loss'])
            if not np.isfinite(loss):
                raise TfkipError(f'{config.method.upper()} loss became {loss} at step {done}: '
                                 + config.algorithm.diverged)
            losses.append({'step': done, 'loss': loss})
            bar.set_postfix(loss=f'{loss:.5f}', batch_acc=f'{float(metrics["accuracy"]):.3f}')
            bar.update(done - bar.n)
        if evaluating and done % config.eval_every == 0:
            result = record(state.params, done, float(metrics['loss']))
            log(f'step {done}: loss {float(metrics["loss"]):.5f}  held-out KRR accuracy '
                f'{result["accuracy"]:.4f} mse {result["mse"]:.5f}')
        if workdir and config.checkpoint_every and distributed.is_writer() and (
                done % config.checkpoint_every == 0 or done == config.steps):
            checkpoint.save(workdir, state, {'fingerprint': fingerprint, 'step': done,
                                             'history': history, 'losses': losses,
                                             'seconds': time.time() - clock})
    bar.close()
    return state.params, history, losses, int(state.step), earlier
