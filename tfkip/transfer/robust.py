"""DD-Ranking's robust scores of a set, measured: the networks each score needs, each
evaluation's learning rate chosen on a validation split (never by test accuracy, which
DD-Ranking's code does), then the scores of `tfkip.transfer.scores` from test accuracies.

For a set S with labels Y, and R the random class-balanced real subset of S's storage, under
one protocol (a `TransferConfig`), the evaluations are (one network per seed each):

- `distilled`: S, Y, the protocol as it is;
- `hard`: S, argmax Y, cross-entropy (the same as `distilled` where Y is one-hot);
- `random`: R, one-hot labels;
- `distilled_plain`, `random_plain`: S and R without augmentation;
- `full`: the whole training split (less the validation split), one-hot labels, no
  augmentation, as many epochs as the protocol trains a set (DD-Ranking's length; or
  `ScoreConfig.full_epochs`) at the protocol's learning rate (DD-Ranking trains real data
  with one fixed recipe too), unless its accuracy is given.

Each evaluation but `full` trains one network (the first seed) per rate of
`ScoreConfig.learning_rates` on the validation split, then every seed at the best rate on
test. The scores are computed per seed (seed i's accuracies, `full` as its mean) and
reported as mean and std, as DD-Ranking averages its evaluation rounds.
"""
import dataclasses

import numpy as np

from tfkip.errors import TfkipError, check_booleans, check_integers, check_positive
from tfkip.transfer import scores
from tfkip.transfer.train import is_one_hot

RUNS = ('distilled', 'hard', 'random', 'distilled_plain', 'random_plain')


@dataclasses.dataclass(frozen=True)
class ScoreConfig:
    """How the robust scores are measured.

    Attributes:
      learning_rates: the rates each evaluation chooses from on validation (DD-Ranking's).
      full_epochs: epochs of the networks trained on the whole training split; None: the
        protocol's `epochs`, as DD-Ranking trains them as long as its set networks (at the
        standard protocol's 1000, minutes a network for digits on a CPU, days for
        CIFAR-10).
      lrs_lambda: the weight of IOR against HLR in the Label-Robust Score.
      ars_lambda: the weight of the gap with augmentation against the gap without it.
      label_robust: measure the Label-Robust Score; off, the Augmentation-Robust Score alone,
        which needs no networks on the whole training split (nor on the argmax labels):
        on a CPU, the part of the scores that 32x32 images allow.
    """
    learning_rates: tuple = dataclasses.field(default=(0.001, 0.005, 0.01, 0.05, 0.1),
                                              metadata={'item': float, 'metavar': 'LR'})
    full_epochs: int | None = None
    lrs_lambda: float = 0.5
    ars_lambda: float = 0.5
    label_robust: bool = True

    def __post_init__(self):
        object.__setattr__(self, 'learning_rates', tuple(self.learning_rates))
        if not self.learning_rates or not all(
                isinstance(r, (int, float)) and r > 0 for r in self.learning_rates):
            raise TfkipError(f'learning_rates must be numbers > 0, got {self.learning_rates!r}')
        if self.full_epochs is not None:
            check_integers(self, ('full_epochs',), 1)
        check_positive(self, ('lrs_lambda', 'ars_lambda'))
        check_booleans(self, ('label_robust',))
        for name in ('lrs_lambda', 'ars_lambda'):
            if getattr(self, name) > 1:
                raise TfkipError(f'{name} must be in (0, 1], got {getattr(self, name)!r}')


def one_hot(labels, num_classes):
    """[N] int -> [N, C] float32."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(labels)]


def _runs(config, set_labels, label_robust):
    """{run: (its TransferConfig less the learning rate, whose images and labels)}; `hard`
    trains on the set's labels by cross-entropy, which takes their argmax (only the
    Label-Robust Score needs it)."""
    plain = dataclasses.replace(config, augmentation=())
    runs = {'distilled': (config, 'set'),
            'hard': (dataclasses.replace(config, loss='xent'), 'set'),
            'random': (config, 'random'), 'distilled_plain': (plain, 'set'),
            'random_plain': (plain, 'random')}
    if is_one_hot(set_labels) or not label_robust:
        del runs['hard']  # the argmax labels are the set's own, or not needed
    return runs


def robust_scores(config, score_config, set_images, set_labels, random_images, random_labels,
                  train, validation, test, networks, full_accuracy=None):
    """Measures the networks DD-Ranking's scores need and computes the scores.

    Args:
      config: the protocol's TransferConfig.
      score_config: ScoreConfig.
      set_images: [N, H, W, C] float32 in the space the networks see; set_labels: [N, C].
      random_images, random_labels: the random real subset, the same way ([R, ...], [R, C]).
      train, validation, test: LabeledImages in that space: the training split less
        `validation` (for `full`), the split the rates are chosen on, the split scored.
      networks: (what, TransferConfig, images, labels [M, C], LabeledImages) -> [accuracy of
        each of the config's seeds on that split]; e.g. `train_and_evaluate`'s, or a caller's
        that saves each as it finishes; or None: not trained yet (another machine trains
        them), and the scores are None once every network not waiting on it is asked for.
      full_accuracy: the `full` networks' test accuracy if known (measured earlier under
        the same protocol), else None: they are trained here (with `label_robust`).

    Returns:
      {'learning_rates': {run: rate}, 'accuracies': {run: [per seed]}, 'full': float,
       'label_robust': {'hlr', 'ior', 'score'} each {'mean', 'std'}, 'augmentation_robust':
       {'with_aug', 'without_aug', 'score'} likewise}; without `score_config.label_robust`,
      'full' and 'label_robust' are None. None where a network is not trained yet.
    """
    if not config.augmentation:
        raise TfkipError('the Augmentation-Robust Score compares the protocol with and without '
                         'its augmentation: give a protocol with augmentation')
    if full_accuracy is not None and not score_config.label_robust:
        raise TfkipError('a full-data accuracy is for the Label-Robust Score: measure it '
                         '(label_robust) or leave the accuracy out')
    sets = {'set': (set_images, set_labels), 'random': (random_images, random_labels)}
    runs = _runs(config, set_labels, score_config.label_robust)
    # Every network that does not wait on another is asked for before any that does, so
    # that networks trained elsewhere (None: not yet) go in two rounds.
    on_validation = {run: {rate: networks(
        f'{run} lr {rate} (validation)', dataclasses.replace(
            run_config, learning_rate=rate, seeds=run_config.seeds[:1]), *sets[whose],
        validation) for rate in score_config.learning_rates}
        for run, (run_config, whose) in runs.items()}
    if score_config.label_robust and full_accuracy is None:
        full_config = dataclasses.replace(config, augmentation=(), loss='xent', steps=None,
                                          epochs=score_config.full_epochs or config.epochs)
        full = networks('full training split', full_config, train.images,
                        one_hot(train.labels, len(train.class_names)), test)
    rates = {run: max(found, key=lambda rate: float(np.mean(found[rate])))
             for run, found in on_validation.items()
             if all(a is not None for a in found.values())}
    accuracies = {run: networks(run, dataclasses.replace(
        runs[run][0], learning_rate=rate), *sets[runs[run][1]], test)
        for run, rate in rates.items()}
    if score_config.label_robust and full_accuracy is None:
        accuracies['full'] = full
    if len(rates) < len(runs) or any(a is None for a in accuracies.values()):
        return None
    accuracies = {run: list(a) for run, a in accuracies.items()}
    ars = [scores.augmentation_robust(accuracies['distilled'][i], accuracies['random'][i],
                                      accuracies['distilled_plain'][i],
                                      accuracies['random_plain'][i], score_config.ars_lambda)
           for i in range(len(config.seeds))]
    lrs = None
    if score_config.label_robust:
        accuracies.setdefault('hard', accuracies['distilled'])
        if full_accuracy is None:
            full_accuracy = float(np.mean(accuracies['full']))
        lrs = [scores.label_robust(full_accuracy, accuracies['hard'][i],
                                   accuracies['distilled'][i], accuracies['random'][i],
                                   score_config.lrs_lambda) for i in range(len(config.seeds))]

    def summary(values):
        fields = [f.name for f in dataclasses.fields(values[0])]
        return {f: {'mean': float(np.mean([getattr(v, f) for v in values])),
                    'std': float(np.std([getattr(v, f) for v in values]))} for f in fields}

    return {'learning_rates': rates, 'accuracies': accuracies, 'full': full_accuracy,
            'label_robust': lrs and summary(lrs), 'augmentation_robust': summary(ars)}


def score_set(config, score_config, images, labels, per_class, train, test, *,
              architecture=None, log=print, full_accuracy=None, networks=None):
    """`robust_scores` of a set, its references drawn here: the validation split a tenth of
    `train` (`sampling.hold_out`), the random subset `per_class` images of each class of the
    rest (`sampling.random_subset`).

    Args:
      config: TransferConfig; score_config: ScoreConfig.
      images: [N, H, W, C] float32; labels: [N, C] float32: the set, in the space of `train`
        and `test` (LabeledImages).
      per_class: real images per class of the random subset: the set's storage (a
        multi-formation set stores fewer than it trains on).
      architecture: the kernel the set was made with, which `config.model='auto'` follows.
      log: called with a line per network.
      full_accuracy: as `robust_scores`'s.
      networks: as `robust_scores`'s (default: `train_and_evaluate`, nothing saved).
    """
    from tfkip.distill import sampling
    from tfkip.transfer.train import train_and_evaluate
    rest, validation = sampling.hold_out(train)
    rows = sampling.random_subset(rest, per_class)

    def trained(what, run_config, run_images, run_labels, split):
        return train_and_evaluate(
            run_config, run_images, run_labels, split.images, split.labels,
            architecture=architecture, progress=lambda seed, acc: log(
                f'scores: {what} seed {seed}: accuracy {acc:.4f} on {split.source}'))['accuracies']

    return robust_scores(config, score_config, images, labels, rest.images[rows],
                         one_hot(rest.labels[rows], rest.num_classes), rest, validation, test,
                         networks or trained, full_accuracy)
