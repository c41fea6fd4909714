"""The distillation loop: KIP, RFAD, DD, Label Solve or a coreset, from labelled images to a
DistilledSet.

    distilled = distill(DistillConfig(...), train, eval_data=test, workdir='runs/x')

RFAD is KIP's loop with random-feature kernels of fresh networks every step; its result
is evaluated with the exact kernel they approximate (the NNGP of `config.kernel`), like
KIP's. DD (Wang et al. 2018) runs the same loop with its own init/update pair (`dd.py`);
coresets (`coresets.py`) choose real images without a loop. The learning methods checkpoint
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
import optax
from tqdm.auto import tqdm

from tfkip import augment
from tfkip.artifacts.distilled_set import DistilledSet
from tfkip.augment.dsa import make_augment
from tfkip.distill import checkpoint, coresets, distributed, step_kernels
from tfkip.distill.dd import Network, dd, fresh_network_accuracy, raw_step_sizes
from tfkip.distill.kip import LOSSES, PLATT_TEMPERATURE, kip
from tfkip.distill.krr import centered_one_hot, evaluate
from tfkip.distill.label_solve import label_solve
from tfkip.distill.sampling import SUPPORT_STREAM, TARGET_STREAM, ClassIndex, rng
from tfkip.errors import TfkipError
from tfkip.kernels.architectures import ARCHITECTURES
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn
from tfkip.kernels.random_features import DEFAULT_NUM_MODELS, DEFAULT_WIDTH, make_feature_fn

LEARNED_METHODS = ('kip', 'rfad', 'dd')  # the ones that run the training loop
AUGMENTED_METHODS = ('kip', 'rfad')  # the ones whose loss can augment the support images
METHODS = LEARNED_METHODS + ('ls',) + coresets.CORESETS
SCHEDULES = ('constant', 'cosine')
EVAL_STREAM = 2
# Options that may change when a run is resumed (e.g. to run it longer).
_RESUMABLE_CHANGES = ('steps', 'eval_every', 'eval_size', 'checkpoint_every', 'log_every')


@dataclasses.dataclass(frozen=True)
class DistillConfig:
    """Everything that determines a distillation run.

    Attributes:
      kernel: the infinite-width kernel (RFAD: the NNGP its random features approximate,
        and the kernel its result is evaluated with).
      method: 'kip' (learn the support set), 'rfad' (learn it on random features of
        finite networks, Loo et al. 2022), 'dd' (learn it by differentiating through the
        training of a finite network, Wang et al. 2018), 'ls' (Label Solve: real support
        images, closed-form labels), or a coreset of real images with one-hot labels:
        'random', 'herding' or 'kcenter'. The kernel evaluates every method's result.
      images_per_class: support images per class.
      steps: KIP steps (Adam updates).
      learning_rate: Adam step size for every learned parameter (the peak, with a
        schedule).
      lr_schedule: 'constant', or 'cosine' (decay to 0 over `steps`).
      target_batch_size: real target images per step, class-balanced (a multiple
        of the number of classes).
      reg: KRR ridge relative to tr(K_ss)/|S|.
      loss: 'mse' (KIP's), or 'platt' (RFAD's cross-entropy with a learned temperature).
      rf_models: RFAD: networks drawn per step.
      rf_width: RFAD: channels (ConvNet) or units (FC) of those networks.
      dd_architecture, dd_depth, dd_width: DD: the finite network trained in the inner loop.
      dd_inner_steps: DD: unrolled gradient steps per outer step (K).
      dd_step_size: DD: the initial inner step size (each of the K is learned).
      dd_random_init: DD: a fresh network initialisation every outer step (else one fixed).
      augmentation: KIP / RFAD: DSA groups (`tfkip.augment.OPS`) applied to the support
        images inside the loss, one group per step (`tfkip.augment.dsa`); () for none.
      learn_labels: learn the support labels as well as the images.
      learn_hparams: learn the kernel's W_std and b_std as well.
      final_label_solve: after the KIP steps, replace the support labels by Label
        Solve's closed-form labels for the learned images over the whole training set.
      seed: seeds the support initialisation and every target batch.
      eval_every: steps between evaluations on the held-out split (0: only at the end).
      eval_size: held-out examples used by the periodic evaluations (None: all).
      checkpoint_every: steps between checkpoints (needs a workdir; 0: none).
      log_every: steps between loss checks and progress-bar updates.
    """
    kernel: KernelConfig = KernelConfig()
    method: str = 'kip'
    images_per_class: int = 10
    steps: int = 1000
    learning_rate: float = 0.01
    lr_schedule: str = 'constant'
    target_batch_size: int = 1000
    reg: float = 1e-6
    loss: str = 'mse'
    rf_models: int = DEFAULT_NUM_MODELS
    rf_width: int = DEFAULT_WIDTH
    dd_architecture: str = 'convnet'
    dd_depth: int = 3
    dd_width: int = 32
    dd_inner_steps: int = 10
    dd_step_size: float = 0.01
    dd_random_init: bool = True
    augmentation: tuple = ()
    learn_labels: bool = True
    learn_hparams: bool = False
    final_label_solve: bool = False
    seed: int = 0
    eval_every: int = 500
    eval_size: int | None = 2000
    checkpoint_every: int = 500
    log_every: int = 50

    def __post_init__(self):
        if self.method not in METHODS:
            raise TfkipError(f'unknown method {self.method!r}; choose one of {METHODS}')
        object.__setattr__(self, 'augmentation', augment.check_ops(self.augmentation))
        if self.augmentation and self.method not in AUGMENTED_METHODS:
            raise TfkipError(f'augmentation applies to the kip and rfad methods, not '
                             f'{self.method!r}')
        if self.lr_schedule not in SCHEDULES:
            raise TfkipError(f'unknown lr_schedule {self.lr_schedule!r}; choose one of '
                             f'{SCHEDULES}')
        if self.loss not in LOSSES:
            raise TfkipError(f'unknown loss {self.loss!r}; choose one of {LOSSES}')
        if self.method == 'rfad' and self.kernel.kernel != 'nngp':
            raise TfkipError("RFAD's random features approximate the NNGP kernel: use the "
                             f"'nngp' kernel (--kernel nngp), not {self.kernel.kernel!r}")
        if self.dd_architecture not in ARCHITECTURES:
            raise TfkipError(f'unknown dd_architecture {self.dd_architecture!r}; choose one '
                             f'of {sorted(ARCHITECTURES)}')
        if not self.dd_step_size > 0:
            raise TfkipError(f'dd_step_size must be > 0, got {self.dd_step_size!r}')
        positive = ('images_per_class', 'target_batch_size', 'log_every', 'rf_models',
                    'rf_width', 'dd_depth', 'dd_width', 'dd_inner_steps')
        non_negative = ('steps', 'eval_every', 'checkpoint_every', 'seed')
        for name in positive + non_negative:
            value = getattr(self, name)
            if not isinstance(value, int) or value < (1 if name in positive else 0):
                raise TfkipError(f'{name} must be an integer >= '
                                 f'{1 if name in positive else 0}, got {value!r}')
        if not self.learning_rate > 0:
            raise TfkipError(f'learning_rate must be > 0, got {self.learning_rate!r}')
        if not self.reg >= 0:
            raise TfkipError(f'reg must be >= 0, got {self.reg!r}')
        if self.eval_size is not None and self.eval_size < 1:
            raise TfkipError(f'eval_size must be >= 1 or None, got {self.eval_size!r}')

    def to_dict(self):
        return dataclasses.asdict(self)

    def learning_rate_fn(self):
        """A float, or an optax schedule of the step."""
        if self.lr_schedule == 'cosine':
            return optax.cosine_decay_schedule(self.learning_rate, self.steps)
        return self.learning_rate

    def learned(self):
        if self.method == 'dd':
            return ('images',) + ('labels',) * self.learn_labels + ('raw_step_sizes',)
        return (('images',) + ('labels',) * self.learn_labels
                + ('hparams',) * self.learn_hparams
                + ('log_temperature',) * (self.loss == 'platt'))

    def dd_network(self):
        """DD's finite network (initialised with the kernel's W_std and b_std)."""
        return Network(self.dd_architecture, self.dd_depth, self.dd_width, self.kernel.W_std,
                       self.kernel.b_std)

    def pair(self, num_classes, image_shape, mesh):
        """The init/update pair of the training loop: KIP on exact step kernels, KIP on
        random features (RFAD), or DD."""
        if self.method == 'dd':
            return dd(self.dd_network(), num_classes, image_shape,
                      learning_rate=self.learning_rate_fn(), learn=self.learned(),
                      random_init=self.dd_random_init, seed=self.seed)
        if self.method == 'rfad':
            kernels = step_kernels.random_features(make_feature_fn(
                self.kernel, num_models=self.rf_models, width=self.rf_width))
        else:
            kernels = step_kernels.exact(make_kernel_fn(self.kernel, num_classes))
        return kip(kernels, learning_rate=self.learning_rate_fn(), reg=self.reg,
                   learn=self.learned(), loss=self.loss, seed=self.seed, mesh=mesh,
                   augment=make_augment(self.augmentation) if self.augmentation else None)


_DIVERGED = ('the support kernel is too ill-conditioned for float32. Raise --reg (e.g. 10x) '
             'or lower --learning-rate',
             'the inner training diverged. Lower --dd-step-size or --learning-rate')


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
    index = ClassIndex(train.labels, train.num_classes, train.source)
    index.check_per_class(config.images_per_class, 'images_per_class')
    if config.method in LEARNED_METHODS:
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
    """The starting support set: `images_per_class` real images of each class drawn with
    `config.seed`, centered one-hot labels, and the config's kernel hyperparameters.

    Returns:
      {'images': [S, H, W, C] float32, 'labels': [S, C] float32, 'hparams': {...}}, and
      with the 'platt' loss 'log_temperature': [] float32.
    """
    index = ClassIndex(train.labels, train.num_classes, train.source)
    support = index.sample(config.images_per_class, rng(config.seed, SUPPORT_STREAM))
    params = {'images': jnp.asarray(train.images[support]),
              'labels': centered_one_hot(train.labels[support], train.num_classes),
              'hparams': config.kernel.initial_hparams()}
    if config.loss == 'platt':
        params['log_temperature'] = jnp.log(jnp.float32(PLATT_TEMPERATURE))
    if config.method == 'dd':
        params['raw_step_sizes'] = raw_step_sizes(config.dd_step_size, config.dd_inner_steps)
    return params


def evaluate_start(config, train, test):
    """The real class-balanced subset KIP starts from, and its KRR metrics on `test`: the
    random-subset baseline of a distilled set.

    Returns:
      (images [S, H, W, C] float32, labels [S, C] float32 centered one-hot,
       {'accuracy', 'mse'}).
    """
    params = initial_params(config, train)
    images, labels = np.asarray(params['images']), np.asarray(params['labels'])
    metrics = evaluate(make_kernel_fn(config.kernel, train.num_classes), params['hparams'],
                       images, labels, test.images, test.labels, reg=config.reg)
    return images, labels, metrics


def distill(config, train, *, eval_data=None, workdir=None, log=tqdm.write,
            progress=True, mesh=None):
    """Runs KIP, RFAD, DD or Label Solve, or picks a coreset.

    Args:
      config: a DistillConfig.
      train: LabeledImages, the real data (support initialisation and targets).
      eval_data: LabeledImages for held-out KRR evaluation, or None.
      workdir: directory for checkpoints (KIP resumes from it), or None.
      log: called with one line per evaluation.
      progress: show a progress bar.
      mesh: the devices each KIP step is split over (`distributed.target_mesh`; default:
        every device of every process). Only process 0 logs and writes checkpoints.

    Returns:
      DistilledSet with metadata {'config', 'method', 'steps', 'hparams',
      'platt_temperature' (the 'platt' loss's), 'dd_step_sizes' and
      'dd_fresh_network_accuracy' (DD's learned inner loop, on eval_data), 'history'
      (the evaluations), 'losses' (every log_every steps), 'metrics', 'wall_time_s',
      'class_names', ...}.
    """
    _check_data(config, train, eval_data)
    if not distributed.is_writer():
        log, progress = (lambda _: None), False
    start_time = time.time()
    num_classes = train.num_classes
    kernel_fn = make_kernel_fn(config.kernel, num_classes)
    params = initial_params(config, train)
    history, losses, step = [], [], 0

    def run_eval(params, images, labels):
        return evaluate(kernel_fn, params['hparams'], np.asarray(params['images']),
                        np.asarray(params['labels']), images, labels, reg=config.reg)

    metrics, before_label_solve = {}, None
    if config.method in coresets.CORESETS:
        rows = coresets.select(config.method, train.images, train.labels, num_classes,
                               config.images_per_class, config.seed, train.source)
        params = dict(params, images=jnp.asarray(train.images[rows]),
                      labels=centered_one_hot(train.labels[rows], num_classes))
    if config.method in LEARNED_METHODS:
        params, history, losses, step = _run_kip(
            config, train, params, eval_data, workdir, log, progress, run_eval,
            mesh if mesh is not None else distributed.target_mesh())
    if config.method == 'ls' or config.final_label_solve:
        if config.method in LEARNED_METHODS and eval_data is not None:
            before_label_solve = run_eval(params, eval_data.images, eval_data.labels)
            log(f'before the final Label Solve: {eval_data.source} KRR accuracy '
                f'{before_label_solve["accuracy"]:.4f}')
        labels = label_solve(kernel_fn, params['hparams'], np.asarray(params['images']),
                             train.images, train.labels, num_classes=num_classes,
                             reg=config.reg)
        params = dict(params, labels=jnp.asarray(labels))
    fresh = None
    if config.method == 'dd' and eval_data is not None:
        keys = ([jax.random.key(config.seed)] if not config.dd_random_init else
                [jax.random.fold_in(jax.random.key(config.seed + 1), i) for i in range(3)])
        fresh = fresh_network_accuracy(config.dd_network(), num_classes, params,
                                       eval_data.images, eval_data.labels, keys)
        log(f'DD: {eval_data.source} accuracy of {len(keys)} network(s) trained by the learned '
            f'inner loop: {", ".join(f"{a:.4f}" for a in fresh)}')
    if eval_data is not None:
        metrics = run_eval(params, eval_data.images, eval_data.labels)
        log(f'final: {eval_data.source} KRR accuracy {metrics["accuracy"]:.4f} '
            f'mse {metrics["mse"]:.5f} ({len(eval_data)} examples)')
    metadata = {
        'method': config.method, 'config': config.to_dict(), 'steps': step,
        'hparams': {k: float(v) for k, v in params['hparams'].items()},
        'platt_temperature': (float(np.exp(params['log_temperature']))
                              if 'log_temperature' in params else None),
        'dd_step_sizes': (np.asarray(jax.nn.softplus(params['raw_step_sizes'])).tolist()
                          if 'raw_step_sizes' in params else None),
        'dd_fresh_network_accuracy': fresh,
        'history': history, 'losses': losses, 'metrics': metrics,
        'class_names': list(train.class_names),
        'metrics_before_label_solve': before_label_solve,
        'train_source': train.source, 'num_train_examples': len(train),
        'eval_source': eval_data.source if eval_data is not None else None,
        'wall_time_s': time.time() - start_time,
    }
    return DistilledSet(np.asarray(params['images']), np.asarray(params['labels']), metadata)


def _run_kip(config, train, params, eval_data, workdir, log, progress, run_eval,
             mesh):
    """The KIP (RFAD, DD) loop over `mesh`; returns (params, history, losses, steps done)."""
    index = ClassIndex(train.labels, train.num_classes, train.source)
    pair = config.pair(train.num_classes, train.image_shape, mesh)
    state = pair.init(params)
    history, losses = [], []  # evaluations; the loss every log_every steps
    fingerprint = _fingerprint(config, train)
    if workdir:
        restored = checkpoint.restore(workdir, state, fingerprint)
        if restored is not None:
            state, meta = restored
            history, losses = meta['history'], meta.get('losses', [])
            log(f'resumed from {workdir} at step {int(state.step)}')
    state = distributed.replicate(state, mesh)
    update = jax.jit(pair.update)
    one_hot = np.asarray(centered_one_hot(np.arange(train.num_classes), train.num_classes))
    load = lambda rows: (train.images[rows], one_hot[train.labels[rows]])
    eval_images, eval_labels = (_eval_subset(eval_data, config.eval_size, config.seed)
                                if eval_data is not None else (None, None))
    per_class = config.target_batch_size // train.num_classes
    evaluating = eval_data is not None and config.eval_every

    def record(params, step, loss):
        """One held-out evaluation into `history`; returns its metrics."""
        result = run_eval(params, eval_images, eval_labels)
        history.append({'step': step, 'loss': loss, 'eval_accuracy': result['accuracy'],
                        'eval_mse': result['mse']})
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
                                 + _DIVERGED[config.method == 'dd'])
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
                                             'history': history, 'losses': losses})
    bar.close()
    return state.params, history, losses, int(state.step)
