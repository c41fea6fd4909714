"""Runs the benchmark rows of `rows.py` and writes every table from their results.

    python benchmarks/run.py --list                       # the rows, recorded or not
    python benchmarks/run.py --rows 'standard/cifar10/1/*' --data .data
    python benchmarks/run.py                              # rewrite the tables from the JSON
    python benchmarks/run.py --check                      # exit 1 if a table, or a row's
                                                          # shared random networks, is stale

A row distils its set through `tfkip.pipeline.stages` (resuming from its checkpoint), then
trains its suite's networks on the set and on the random real subset distillation starts
from, one seed at a time, each saved as it finishes: an interrupted row resumes where it
stopped. Results merge into `results/benchmarks.json` by row; BENCHMARKS.md, the README's
results table and `results/standard.png` are written from that file alone.
"""
import argparse
import dataclasses
import fcntl
import fnmatch
import glob
import hashlib
import json
import os
import re
import sys

from tfkip._runtime import configure_xla_cpu, quiet_tensorflow

configure_xla_cpu()  # before JAX starts its CPU backend
quiet_tensorflow()

import numpy as np  # noqa: E402

from tfkip._io import atomic_path, sha256, write_text  # noqa: E402

from _common import commit, describe, machine  # noqa: E402
from rows import DATASETS, ROWS, SUITES  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, 'results', 'benchmarks.json')
PLOT = os.path.join(HERE, 'results', 'standard.png')
RESULTS_BEGIN, RESULTS_END = '<!-- begin results -->\n', '<!-- end results -->'
MONITORING = ('eval_every', 'eval_size', 'checkpoint_every', 'log_every')


def row_id(key):
    """'suite/dataset/ipc/name' with the name's ', ' as '+' and spaces as '-'."""
    suite, dataset, ipc, name = key
    return f'{suite}/{dataset}/{ipc}/' + name.replace(', ', '+').replace(' ', '-')


def key_of(result):
    return (result['suite'], result['dataset'], result['images_per_class'], result['method'])


def _order(result):
    """Suites in their order, then dataset and size, then the rows' declared order."""
    declared = [row.key for row in ROWS]
    key = key_of(result)
    return (list(SUITES).index(key[0]), key[1], key[2],
            declared.index(key) if key in declared else len(declared), key[3])


def _read_back(value):
    return json.loads(json.dumps(value, default=str))


@dataclasses.dataclass(frozen=True)
class Elsewhere:
    """Networks trained on another machine (`device_networks.py`): `jobs`, a folder the
    missing seeds' sets go to instead of training here; `weights`, a folder of the weights
    trained there, tested here."""
    jobs: str | None = None
    weights: str | None = None


def _named(evaluation, images, labels, path):
    """`path`.<digest>.json: the file of the networks `evaluation` trains on (images,
    labels), named by its departures from the defaults and the data."""
    digest = hashlib.sha256(json.dumps(_read_back(_departures(evaluation)), sort_keys=True
                                       ).encode())
    for array in (images, labels):
        digest.update(np.ascontiguousarray(array, np.float32).tobytes())
    return f'{path}.{digest.hexdigest()[:12]}.json'


def _networks(evaluation, images, labels, test, path, what, log, elsewhere=Elsewhere(),
              same_as=()):
    """{'mean', 'std', 'accuracies'} of `evaluation`'s networks on (images, labels), one seed
    at a time, each accuracy saved as soon as it is measured to a file named after the
    evaluation (its seeds aside: more seeds add to the file) and the data, so that another
    set or protocol never reads it back; with 'trained_on', the machines its networks
    trained on (older files name only those trained `elsewhere`). None where seeds went to
    `elsewhere.jobs` instead. `same_as`: the paths of other uses of the networks, tested on
    the same split; a seed saved in the file one of them names (the same evaluation and
    data) is read from there instead of trained again."""
    import device_networks
    from tfkip.pipeline.stages import train_on_set
    from tfkip.transfer.train import build_network, test_accuracy
    path = _named(evaluation, images, labels, path)
    name = os.path.basename(path)[:-len('.json')]
    done = json.load(open(path)) if os.path.exists(path) else {}
    waiting = False
    for other in (_named(evaluation, images, labels, p) for p in same_as):
        found = json.load(open(other)) if os.path.exists(other) else {}
        for seed in (s for s in evaluation.seeds if str(s) in found and str(s) not in done):
            done[str(seed)] = found[str(seed)]
            if str(seed) in found.get('trained_on', {}):
                done.setdefault('trained_on', {})[str(seed)] = found['trained_on'][str(seed)]
            log(f'{what}: seed {seed} read from {os.path.basename(other)}: '
                f'{done[str(seed)]:.4f}')
            write_text(path, json.dumps(done))
    for seed in evaluation.seeds:
        if str(seed) in done:
            continue
        found = elsewhere.weights and device_networks.trained(elsewhere.weights, name, seed)
        if found:
            model = build_network(evaluation, images.shape[1:], labels.shape[1], seed,
                                  'convnet')
            model.set_weights(found[0])
            done[str(seed)] = test_accuracy(model, test.images, test.labels)
            done.setdefault('trained_on', {})[str(seed)] = found[1]
            log(f'{what}: seed {seed} (trained on {found[1]}): {done[str(seed)]:.4f}')
        elif elsewhere.jobs:
            device_networks.add_job(elsewhere.jobs, name,
                                    _read_back(dataclasses.asdict(evaluation)), images, labels,
                                    seed)
            waiting = True
            continue
        else:
            result = train_on_set((dataclasses.replace(evaluation, seeds=(seed,)),), images,
                                  labels, test, 'convnet', log, what)['results'][0]
            done[str(seed)] = result['accuracies'][0]
            done.setdefault('trained_on', {})[str(seed)] = describe(machine())
        write_text(path, json.dumps(done))
    if waiting:
        log(f'{what}: seeds written to {elsewhere.jobs}')
        return None
    accuracies = [done[str(s)] for s in evaluation.seeds]
    machines = sorted({done.get('trained_on', {}).get(str(s)) for s in evaluation.seeds} - {None})
    return {'mean': float(np.mean(accuracies)), 'std': float(np.std(accuracies)),
            'accuracies': accuracies, **({'trained_on': machines} if machines else {})}


# TransferConfig defaults as they were when networks were first named by their departures
# from them, where one has changed since: a name keeps meaning the networks it named.
NAMED_AGAINST = {'init': 'keras'}


def _departures(evaluation):
    """The fields of a TransferConfig that differ from their defaults (`NAMED_AGAINST`'s where
    a default changed), seeds aside: what names its networks, unchanged when an option is
    added with a default that keeps what they did."""
    return {f.name: getattr(evaluation, f.name) for f in dataclasses.fields(evaluation)
            if f.name != 'seeds'
            and getattr(evaluation, f.name) != NAMED_AGAINST.get(f.name, f.default)}


def _evaluation(recorded):
    """A recorded evaluation as a TransferConfig (None: KRR only), options added since at
    their defaults."""
    from tfkip.transfer.train import TransferConfig
    return recorded and TransferConfig(**recorded)


def _evaluation_of(row, seeds):
    """The row's evaluation (None: KRR only) with its first `seeds` seeds (None: all)."""
    evaluation = row.evaluation()
    return evaluation if evaluation is None or seeds is None else dataclasses.replace(
        evaluation, seeds=evaluation.seeds[:seeds])


def _trained_on(result, part):
    """The one machine that trained `result`'s networks on `part` ('distilled', 'random'):
    their record's, else (networks from before it was kept) the row's; None where several."""
    machines = (result.get(part) or {}).get('trained_on') or [result['machine']]
    return machines[0] if len(machines) == 1 else None


def _same_start(a, b):
    """Whether `a`'s random networks can stand for `b`'s: the same images under the same
    evaluation, trained on the machine that trained `b`'s set networks (Keras on one CPU
    repeats its networks; a new machine, or code, may not)."""
    machine = _trained_on(b, 'distilled')
    return (a['dataset'] == b['dataset'] and a['images_per_class'] == b['images_per_class']
            and _evaluation(a['evaluation']) == _evaluation(b['evaluation'])
            and machine is not None and _trained_on(a, 'random') == machine
            and all(a['distill_config'].get(k) == b['distill_config'].get(k)
                    for k in ('seed', 'kernel')))


def run_row(row, data, sets, recorded, log, validation=False, seeds=None, scores=None,
            elsewhere=Elsewhere(), ran_at=None):
    """Distils `row`'s set (or reads it back from `sets`) and evaluates it, on the test split
    or (`validation`) on a tenth of the training split held out, with its evaluation's first
    `seeds` seeds (None: all), and (`scores`, a ScoreConfig) DD-Ranking's robust scores, the
    networks trained here or `elsewhere`; its result (None: seeds went to `elsewhere.jobs`),
    recorded as run at commit `ran_at` (None: `commit()` now)."""
    from tfkip.distill.sampling import hold_out
    from tfkip.distill.train import evaluate_start
    from tfkip.formats import distilled_set
    from tfkip.pipeline import stages
    ran_at = ran_at or commit()
    source, prep = DATASETS[row.dataset]
    source = source if ':' in source else os.path.join(data, source)
    if row.external or row.published:
        return _external_row(row, source, sets, log, seeds, ran_at, scores, elsewhere)
    train, test, stats, prepared = stages.load_data(source, prep)
    if validation:
        train, test = hold_out(train)
    config, evaluation = row.config(), _evaluation_of(row, seeds)
    made_by = row.set_of or row  # the row whose set this is
    base = os.path.join(sets, row_id(made_by.key).replace('/', '_') + '_validation' * validation)
    # Read back as a config, so that options added since with their defaults still match.
    made = distilled_set.load(base) if os.path.exists(base + '.npz') else None
    here = describe(machine())
    if made is None or made.metadata.distill_config() != config:
        stages.distill_to_artifact(config, train, test, stats, prepared, base, source=source,
                                   log=log)
        made = distilled_set.load(base)
        _made_here(base, ran_at, here)
    meta, made_record = made.metadata, _made_record(base, made_by, config, recorded)
    result = {
        'suite': row.suite, 'dataset': row.dataset, 'images_per_class': row.images_per_class,
        'method': row.key[-1], 'distill_config': _read_back(config.to_dict()),
        'evaluation': evaluation and _read_back(dataclasses.asdict(evaluation)),
        'distill_seconds': meta.wall_time_s, 'distill_steps': meta.steps,
        'history': meta.history, 'krr_accuracy': meta.metrics.get('accuracy'),
        'extra': {**meta.extra, **({'krr_before_label_solve_accuracy':
                                    meta.metrics_before_label_solve['accuracy']}
                                   if meta.metrics_before_label_solve else {})},
        'machine': here, 'commit': ran_at,
        'distilled_at': made_record.get('distilled_at'),
        'distilled_on': made_record.get('distilled_on')}
    images, labels, krr = evaluate_start(config, train, test)
    result['random_krr_accuracy'] = krr and krr['accuracy']
    if evaluation:
        earlier = _set_record(row, config, recorded)

        def networks(part, run_images, run_labels, suffix, what):
            return _machine_of(_networks(evaluation, run_images, run_labels, test, base + suffix,
                                         what, log, elsewhere), earlier, part, evaluation)

        set_images, set_labels = made.training_set()
        result['distilled'] = networks('distilled', set_images, set_labels, '.networks',
                                       'distilled')
        hard = _argmax(set_labels)
        if hard is not None:
            result['hard'] = networks('hard', set_images, hard, '.hard', 'argmax labels')
        # Another tool's set is evaluated in its own space: its random networks are not these.
        shared = next((r for r in recorded if key_of(r) != row.key and 'random_from' not in r
                       and r.get('random') and r['distill_config'] and _same_start(r, result)),
                      None)
        if shared:
            result['random'], result['random_from'] = shared['random'], shared['method']
        else:
            result['random'] = networks('random', images, labels, '.random', 'random subset')
        if scores:
            result['scores'] = _scores(row, evaluation, scores, set_images, set_labels, train,
                                       test, sets, base, log, elsewhere)
    return _complete(result)


def _argmax(labels):
    """[N, C] float32 one-hot labels of `labels`' argmax where they are learned (DD-Ranking
    trains such a set on them too: the hard-label accuracy), else None."""
    from tfkip.transfer.robust import one_hot
    from tfkip.transfer.train import is_one_hot
    return None if is_one_hot(labels) else one_hot(labels.argmax(1), labels.shape[1])


def _machine_of(networks, earlier, part, evaluation):
    """`networks` (`_networks`' result on `part`) naming the machine that trained them where
    their file predates 'trained_on': that of the row's `earlier` record (`_trained_on`) if
    it has the same evaluation and, seed by seed, these accuracies (the same networks, read
    back then), so that recording a row again elsewhere does not make them this machine's."""
    if (not networks or 'trained_on' in networks or not earlier.get(part)
            or 'random_from' in earlier and part == 'random'
            or _evaluation(earlier['evaluation']) != evaluation
            or earlier[part]['accuracies'] != networks['accuracies']):
        return networks
    machine = _trained_on(earlier, part)
    return networks if machine is None else {**networks, 'trained_on': [machine]}


def _made_here(base, ran_at, here):
    """Writes `base`.made.json: the commit and machine that distilled, and timed, the set just
    saved at `base`, beside it, so that a run stopped before it records its row keeps them."""
    write_text(base + '.made.json', json.dumps({'npz_sha256': sha256(base + '.npz'),
                                                'distilled_at': ran_at, 'distilled_on': here}))


def _made_record(base, made_by, config, recorded):
    """{'distilled_at', 'distilled_on'} of the set at `base`: from its `.made.json` where that
    names this very set, else from its row's record (`_set_record`; sets distilled before the
    file), whose own commit and machine stand for them where it predates the fields (as the
    tables take it, `_distilled_on`), else {}."""
    if os.path.exists(base + '.made.json'):
        made = json.load(open(base + '.made.json'))
        if made.pop('npz_sha256') == sha256(base + '.npz'):
            return made
    r = _set_record(made_by, config, recorded)
    return r and {'distilled_at': r.get('distilled_at', r['commit']),
                  'distilled_on': _distilled_on(r)}


def _set_record(made_by, config, recorded):
    """The record of row `made_by` with the set distilled under `config` ({} if none): its
    `distilled_at` and `distilled_on` say which commit and machine distilled the set, absent
    from those recorded before the fields (a record's `commit` and `machine` are those of the
    run that last assembled it, which may have read the set back)."""
    from tfkip.distill.config import DistillConfig
    from tfkip.errors import TfkipError

    def same(recorded_config):
        try:  # read as a config, so that options added since with their defaults still match
            return DistillConfig.from_dict(recorded_config) == config
        except (TypeError, TfkipError):  # an option or a value this version no longer takes
            return False

    return next((r for r in recorded if key_of(r) == made_by.key
                 and r['distill_config'] and same(r['distill_config'])), {})


def _scores(row, evaluation, score_config, images, labels, train, test, sets, base, log,
            elsewhere):
    """`tfkip.transfer.robust.score_set` of the row's set, each network saved as it finishes
    to a file of the dataset and split it is tested on (shared by every row: the networks on
    the random subset and the whole training split are the same for each); those the row
    trained on the set (under `base`) stand for the same networks on the test split."""
    from tfkip.transfer.robust import score_set

    def networks(what, config, run_images, run_labels, split):
        on = re.sub(r'[^A-Za-z0-9]+', '-', split.source).strip('-')
        found = _networks(config, run_images, run_labels, split,
                          os.path.join(sets, f'scores_{row.dataset}_{on}'), f'scores: {what}',
                          log, elsewhere,
                          (base + '.networks', base + '.hard') if split is test else ())
        return found and found['accuracies']

    return score_set(evaluation, score_config, images, labels, row.images_per_class, train,
                     test, architecture='convnet', log=log, networks=networks)


def _external_row(row, source, sets, log, seeds, ran_at, scores, elsewhere):
    """The result of a row whose set another tool wrote, or its authors published: its
    networks (learned labels: on their argmax too) and those of the random subset
    (`sampling.random_subset`, the images tfkip's rows start from) in the set's space, tested
    on the test split mapped into it (and its `scores`); the tool's record (seconds,
    iterations) as it wrote it."""
    from tfkip import preprocess, sources
    from tfkip.distill.sampling import random_subset
    from tfkip.formats import external_set
    from tfkip.transfer.robust import one_hot
    opened = sources.open_source(source)
    train, test = (sources.load_split(opened, split) for split in ('train', 'test'))
    if row.published:
        made, stats, record, base = _published_set(row, train, sets)
    else:
        base = os.path.join(sets, row.external)
        made, stats = external_set.load(base + '.npz', test.class_names)
        record = json.load(open(base + '.json'))
    evaluation = _evaluation_of(row, seeds)
    train, test = preprocess.transform(stats, train), preprocess.transform(stats, test)
    rows = random_subset(train, row.images_per_class)
    result = {'suite': row.suite, 'dataset': row.dataset,
              'images_per_class': row.images_per_class, 'method': row.key[-1],
              'distill_config': None, 'external': record,
              'evaluation': _read_back(dataclasses.asdict(evaluation)),
              'distill_seconds': record.get('seconds'),
              'distill_steps': record.get('iterations'), 'history': [], 'krr_accuracy': None,
              'machine': describe(machine()), 'commit': ran_at}

    def networks(images, labels, suffix, what):
        return _networks(evaluation, images, labels, test, base + suffix, what, log, elsewhere)

    result['distilled'] = networks(made.images, made.labels, '.networks', 'distilled')
    hard = _argmax(made.labels)
    if hard is not None:
        result['hard'] = networks(made.images, hard, '.hard', 'argmax labels')
    result['random'] = networks(train.images[rows], one_hot(train.labels[rows],
                                                            train.num_classes),
                                '.random', 'random subset')
    if 'seconds_per_iteration' in record:
        result['step_seconds'] = record['seconds_per_iteration']
    if scores:
        result['scores'] = _scores(row, evaluation, scores, made.images, made.labels, train, test,
                                   sets, base, log, elsewhere)
    return _complete(result)


def _complete(result):
    """`result`, or None where some of its networks went to another machine's jobs."""
    return None if any(k in result and result[k] is None
                       for k in ('distilled', 'hard', 'random', 'scores')) else result


def _published_set(row, train, sets):
    """(DistilledSet, the authors' PreprocessStats fitted on `train`, a record of the file,
    the base of the row's files) of the published set `row.published`."""
    from tfkip.publish import config_of, published
    name = f'published_{row.published}'
    known = config_of(f'kip_{row.dataset}', name).published  # the builder's, as it loads it
    path = os.path.join(sets, 'published', name + '.npz')
    with open(path, 'rb') as f:
        data = f.read()
    made = published.read_set(data, known, path)
    stats = published.preprocessing(known, train.images, train.class_names)
    return made, stats, {'published': name, 'sha256': hashlib.sha256(data).hexdigest(),
                         'what': known.describe()}, path[:-len('.npz')]


# The tables -----------------------------------------------------------------------------------

def _pct(x, std=None):
    """'76.01%', or with `std` '76.01% ± 0.58'; of a list of accuracies, their mean ± std."""
    if isinstance(x, list):
        x, std = np.mean(x), np.std(x)
    return '-' if x is None else f'{100 * x:.2f}%' + ('' if std is None else f' ± {100 * std:.2f}')


def _checks(entries):
    """Seconds of the held-out checks among history `entries` (0 where not timed: rows
    recorded before checks were timed apart count them in their steps)."""
    return sum(e.get('eval_seconds', 0.0) for e in entries)


def _timed(r):
    """The history's timed entries, ending at the last step where the run had no final KRR
    (a pilot's steps may end past its last check: they are steps too)."""
    h = [e for e in r['history'] if e.get('seconds') is not None]
    if (h and not (r.get('distill_config') or {}).get('final_eval', True)
            and r.get('distill_steps', 0) > h[-1]['step']
            and (r.get('distill_seconds') or 0) >= h[-1]['seconds']):  # not an old resume
        h.append({'step': r['distill_steps'], 'seconds': r['distill_seconds']})
    return h


def _step_seconds(r):
    """Seconds a step (with its share of the held-out checks where they were not timed
    apart; another tool's as it measured them), or None where not recorded."""
    if 'step_seconds' in r:
        return r['step_seconds']
    h = _timed(r)
    return (h[-1]['seconds'] - h[0]['seconds'] - _checks(h[1:])) / (
        h[-1]['step'] - h[0]['step']) if len(h) > 1 and h[-1]['step'] > h[0]['step'] else None


def _distill_time(r):
    """The steps' minutes, then (+) the held-out checks' where timed apart and the final KRR
    on the full test split."""
    if r['distill_seconds'] is None:
        return None
    h, total = _timed(r), r['distill_seconds']
    if not h:
        return f'{total / 60:.1f} min'
    timed, checks = h[-1]['seconds'], _checks(h)
    # A row resumed before the artifact counted earlier processes has total < timed.
    return f'{(timed - checks) / 60:.1f} min' + (
        f' (+{checks / 60:.1f} checks)' if checks else '') + (
        f' (+{(total - timed) / 60:.1f})' if total >= timed else '')


def _target(r, suite):
    target = suite.targets.get((r['dataset'], r['images_per_class']))
    if target is None:
        return None
    value = r['distilled']['mean'] if suite.evaluation else r['krr_accuracy']
    return f'>= {100 * target:.1f}% ({"met" if value >= target else "not met"})'


def _gap(r):
    d, s = r.get('distilled'), r.get('random')
    return d and s and (f'{100 * (d["mean"] - s["mean"]):+.2f} '
                        f'({100 * (d["std"] ** 2 + s["std"] ** 2) ** 0.5:.2f})')


def _score(r, name):
    score = r.get('scores') and r['scores'][name] and r['scores'][name]['score']
    return score and f'{score["mean"]:.3f} ± {score["std"]:.3f}'


def _distilled_on(r):
    """The machine that distilled, and timed, a row's set: its record's own machine where it
    predates the field."""
    return r.get('distilled_on', r['machine'])


def _machines(r):
    """The machine a row ran on, the one that distilled its set where another, and the one
    its networks trained on where another (a row recorded again elsewhere from saved networks)."""
    elsewhere = sorted({m for k in ('distilled', 'hard', 'random') if r.get(k)
                        for m in r[k].get('trained_on', ())} - {r['machine']})
    made = _distilled_on(r)
    return r['machine'] + ('' if made == r['machine'] else f' (set: {made})' if made else
                           ' (set: distilled on a machine not recorded)') + ''.join(
        f'; networks trained on {m}' for m in elsewhere)


# (header, cell of a result in its suite, or None): a column no row fills is left out.
COLUMNS = [
    ('dataset', lambda r, s: r['dataset']),
    ('images/class', lambda r, s: str(r['images_per_class'])),
    ('method', lambda r, s: r['method']),
    ('**networks on the set**', lambda r, s: r.get('distilled') and
     f'**{_pct(r["distilled"]["mean"], r["distilled"]["std"])}**'),
    ('networks on the random subset', lambda r, s: r.get('random') and (
        _pct(r['random']['mean'], r['random']['std'])
        + (f' (the {r["random_from"]} row\'s)' if 'random_from' in r else ''))),
    ('set - random (std)', lambda r, s: _gap(r)),
    ("networks' initialisers", lambda r, s: r['evaluation'] and r['evaluation'].get('init')),
    ('networks on the set, argmax labels', lambda r, s: r.get('hard') and _pct(
        r['hard']['mean'], r['hard']['std'])),
    ('Label-Robust Score', lambda r, s: _score(r, 'label_robust')),
    ('Augmentation-Robust Score', lambda r, s: _score(r, 'augmentation_robust')),
    ('KRR of the set', lambda r, s: _pct(r['krr_accuracy'])),
    ('KRR of the random subset', lambda r, s: _pct(r.get('random_krr_accuracy'))),
    ('target', _target),
    ('published', lambda r, s: s.published.get((r['dataset'], r['images_per_class']))),
    ('distill time', lambda r, s: _distill_time(r)),
    ('steps', lambda r, s: r['distill_steps'] is not None and str(r['distill_steps'])),
    ('s/step', lambda r, s: (t := _step_seconds(r)) and f'{t:.2f}'),
    ('machine', lambda r, s: _machines(r)),
    ('commit', lambda r, s: _commits(r)),
]


def _commits(r):
    """The commit that ran the row, and the one that distilled its set where that differs."""
    made = r.get('distilled_at')
    return r.get('commit') and r['commit'] + (f' (set: {made})' if made and made != r['commit']
                                              else '')


def _anchor(title):
    return re.sub(r'[^a-z0-9 -]', '', title.lower()).replace(' ', '-')


def table(results, suite):
    cells = [[cell(r, suite) for _, cell in COLUMNS] for r in results]
    keep = [i for i in range(len(COLUMNS)) if any(c[i] for c in cells)]
    lines = ['| ' + ' | '.join(COLUMNS[i][0] for i in keep) + ' |', '|' + '---|' * len(keep)]
    return lines + ['| ' + ' | '.join(c[i] or '-' for i in keep) + ' |' for c in cells]


def _extras(r):
    """Figures a method records of its own, as '<name>: 76.01% ± 0.58'."""
    return [f'{k.replace("_", " ")}: ' + _pct(v)
            for k, v in sorted(r.get('extra', {}).items()) if k.endswith('accuracy')]


# The robust scores' evaluations, in the order a reader compares them.
SCORED = (('distilled', 'the set with augmentation'), ('distilled_plain', 'without'),
          ('hard', 'its argmax labels'), ('random', 'the random subset with augmentation'),
          ('random_plain', 'without'), ('full', 'the whole training split'))


def _scored(r):
    """The networks behind a row's robust scores, each at the rate validation chose."""
    found, rates = r['scores']['accuracies'], r['scores']['learning_rates']
    return 'robust scores from ' + ', '.join(
        f'{what} {_pct(found[k])}'
        + (f' (lr {rates[k]})' if k in rates else '') for k, what in SCORED if found.get(k)
    ) + '; each lr chosen on validation'


def _curve(r):
    return ', '.join(f'{h["step"]}' + (f' ({h["seconds"] / 60:.1f} min)' if h.get('seconds')
                                        is not None else '') + f': {_pct(h["eval_accuracy"])}'
                     for h in r['history'])


def beside_peers(results):
    """Lines of a table for each row of another tool's code that timed its steps (an external
    row with `step_seconds`): tfkip's rows of the same method, cell and machine beside it, with
    the ratios of their networks' accuracy and of their seconds per step to its."""
    lines, declared = [], {row.key: row for row in ROWS}
    for peer in (r for r in results if 'step_seconds' in r and r.get('distilled')):
        method = declared[key_of(peer)].method  # the method its row names
        mine = [r for r in results if r.get('distill_config') and r.get('distilled')
                and r['distill_config']['method'] == method
                and _distilled_on(r) == peer['machine']
                and key_of(r)[:3] == key_of(peer)[:3] and _step_seconds(r)]
        if not mine:
            continue
        lines += [f'{peer["dataset"]}, {peer["images_per_class"]}/class, {peer["suite"]} '
                  f'suite: `{peer["method"]}` ({_pct(peer["distilled"]["mean"])}, '
                  f'{peer["step_seconds"]:.2f} s/step, {peer["distill_steps"]} steps).', '',
                  '| tfkip row | networks on the set | accuracy / the authors\' | s/step | '
                  's/step / the authors\' |', '|---|---|---|---|---|']
        lines += [f'| {r["method"]} | {_pct(r["distilled"]["mean"], r["distilled"]["std"])} | '
                  f'{r["distilled"]["mean"] / peer["distilled"]["mean"]:.2f} | '
                  f'{_step_seconds(r):.2f} | {_step_seconds(r) / peer["step_seconds"]:.2f} |'
                  for r in mine] + ['']
    return lines


PARITY = "The protocol beside the field's code"


def benchmarks_md(recorded):
    results = sorted(recorded['rows'], key=_order)
    pilots = sorted(recorded.get('pilots', []), key=_order)
    beside = beside_peers(results)
    parity = sorted(glob.glob(os.path.join(HERE, 'results', 'authors_evaluation_*.json')))
    titles = [s.title for s in SUITES.values()] + [PARITY] * bool(parity) + [
        "Beside the authors' code"] * bool(beside) + ['Pilots on a validation split'] * bool(
        pilots) + [
        'Held-out KRR accuracy during distillation', 'Notes', 'Speed']
    lines = ['# Benchmarks', '', 'Written by `benchmarks/run.py` from '
             '`benchmarks/results/benchmarks.json`; [docs/benchmarks.md](docs/benchmarks.md) '
             'says how to rerun a row. Accuracy is on the full test split; ± is the std over '
             'networks (seeds). "distill time": the steps (with their held-out checks in rows '
             'recorded before the checks were timed apart), then (+) the checks and the final '
             'KRR on the full test split. Rows whose random subset is the same '
             'images under the same evaluation share its networks.', '',
             *[f'- [{t}](#{_anchor(t)})' for t in titles], '']
    for name, suite in SUITES.items():
        mine = [r for r in results if r['suite'] == name]
        lines += [f'## {suite.title}', '', suite.text, '', *table(mine, suite), '']
        extras = [f'- {r["method"]}, {r["dataset"]} {r["images_per_class"]}/class: {e}'
                  for r in mine for e in _extras(r) + ([_scored(r)] if r.get('scores') else [])]
        lines += extras + [''] * bool(extras)
        if name == 'standard':
            lines += ['![accuracy against images per class](benchmarks/results/standard.png)', '']
    if parity:
        from peers.authors_evaluation import markdown
        lines += [f'## {PARITY}', '']
        for path in parity:  # each page less its title
            lines += [*markdown(json.load(open(path))).splitlines()[2:], '']
    if beside:
        lines += ["## Beside the authors' code", '', "Each of another tool's rows that timed its "
                  "steps, beside tfkip's rows of its method and cell distilled on the same "
                  "machine.", '', *beside]
    if pilots:
        lines += ['## Pilots on a validation split', '', 'Run with `--validation` to choose '
                  'settings: a tenth of each class of the training split (seed 123) held out as '
                  'their test split, the rest distilled; the tables above never choose.', '']
        for name, suite in SUITES.items():
            mine = [r for r in pilots if r['suite'] == name]
            lines += [f'### {suite.title}', '', *table(mine, suite), ''] * bool(mine)
    lines += [f'## {titles[-3]}', '', 'Step (minutes): KRR accuracy on the held-out images '
              'the run checks (monitoring only; nothing is chosen with it).', '']
    made = {}  # a row that evaluates another's set points to it rather than repeat its curve
    for r in (r for r in results if r['history']):
        same = json.dumps([key_of(r)[:3], r['history']], sort_keys=True)  # timed: one run's
        lines.append(f'- {r["suite"]}, {r["dataset"]} {r["images_per_class"]}/class, '
                     f'{r["method"]}: ' + (f'the {made[same]} row\'s set' if same in made
                                           else _curve(r)))
        made.setdefault(same, r['method'])
    lines += ['', f'## {titles[-2]}', '']
    for note in recorded['notes']:
        lines += [f'### {note["title"]}', '', note['text'] + f' (commit {note["commit"]})', '']
    lines += [f'## {titles[-1]}', '', 'Micro-benchmarks, each written by the script it names:', '']
    lines += [f'- [{os.path.basename(p)}](benchmarks/results/{os.path.basename(p)})'
              for p in sorted(glob.glob(os.path.join(HERE, 'results', '*.md')))]
    return '\n'.join(lines) + '\n'


def summary(results):
    """The README's table: each standard row's mean by method, dataset and size."""
    rows = sorted((r for r in results if r['suite'] == 'standard'), key=_order)
    cells = sorted({(r['dataset'], r['images_per_class']) for r in rows})
    found = {(r['method'], r['dataset'], r['images_per_class']): r for r in rows}
    lines = ['| `standard` protocol, 5 seeds | ' + ' | '.join(f'{d} {i}/class' for d, i in cells)
             + ' |', '|---|' + '---|' * len(cells)]
    for method in dict.fromkeys(r['method'] for r in rows):  # recorded, in declared order
        lines.append(f'| {method} | ' + ' | '.join(
            f'{100 * found[method, d, i]["distilled"]["mean"]:.1f}%'
            if (method, d, i) in found else '-' for d, i in cells) + ' |')
    random = {}
    for r in rows:  # the first row's of each size, where the later ones share it
        if 'random' in r:
            random.setdefault((r['dataset'], r['images_per_class']), r['random']['mean'])
    lines.append('| random real images | ' + ' | '.join(f'{100 * random[c]:.1f}%' for c in cells)
                 + ' |')
    return ('\n'.join(lines) + '\n\nEach set distilled in about an hour of a 2-core CPU; '
            'every figure, with its std, time and machine, is in '
            '[BENCHMARKS.md](BENCHMARKS.md).\n')


def plot(results, path):
    """Networks' accuracy against images per class, one panel per dataset (standard)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = [r for r in results if r['suite'] == 'standard']
    datasets = sorted({r['dataset'] for r in rows})
    figure, axes = plt.subplots(1, len(datasets), figsize=(4.5 * len(datasets), 3.4),
                                squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        mine = sorted((r for r in rows if r['dataset'] == dataset),
                      key=lambda r: r['images_per_class'])
        lines = {m: [(r['images_per_class'], r['distilled']) for r in mine if r['method'] == m]
                 for m in dict.fromkeys(r['method'] for r in mine)}
        lines['random real subset'] = sorted({r['images_per_class']: r['random']
                                              for r in mine if 'random' in r}.items())
        for label, points in lines.items():
            ax.errorbar([i for i, _ in points], [100 * p['mean'] for _, p in points],
                        yerr=[100 * p['std'] for _, p in points], marker='o', capsize=3,
                        label=label)
        ax.set(xscale='log', xlabel='images per class', ylabel='test accuracy (%)',
               title=f'{dataset}, standard protocol')
        ax.legend(fontsize=7)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format='png', dpi=100)


def _script_of(path):
    """The module (`name` or `peers.name`) of the script that wrote results/<path>: the
    longest script name the file's name starts with, or None."""
    scripts = [os.path.relpath(p, HERE)[:-3].replace(os.sep, '.') for p in
               glob.glob(os.path.join(HERE, '[a-z]*.py'))
               + glob.glob(os.path.join(HERE, 'peers', '[a-z]*.py'))]
    name = lambda script: script.rsplit('.', 1)[-1]
    return max((s for s in scripts if os.path.basename(path).startswith(name(s))),
               key=lambda s: len(name(s)), default=None)


def written(recorded):
    """{path: text} of every file written from the results, the plot aside: BENCHMARKS.md,
    the README's results table, and each micro-benchmark's table from its JSON (by the
    `markdown` of the script the file is named after)."""
    import importlib
    readme = open(os.path.join(ROOT, 'README.md')).read()
    start, end = readme.index(RESULTS_BEGIN) + len(RESULTS_BEGIN), readme.index(RESULTS_END)
    files = {os.path.join(ROOT, 'BENCHMARKS.md'): benchmarks_md(recorded),
             os.path.join(ROOT, 'README.md'): readme[:start] + summary(recorded['rows'])
             + readme[end:]}
    for path in glob.glob(os.path.join(HERE, 'results', '*.json')):
        script = _script_of(path)
        if script not in (None, 'run'):
            files[path[:-5] + '.md'] = importlib.import_module(script).markdown(
                json.load(open(path)))
    return files


def _at(row, steps):
    """`row` (and the row whose set it evaluates) at `steps`, named apart."""
    return dataclasses.replace(row, steps=steps, name=f'{row.key[-1]}, {steps} steps',
                               set_of=row.set_of and _at(row.set_of, steps))


def _named_lender(result, results):
    """The row of `results` that `result` names as its random networks' ('random_from'), or
    None."""
    return next((r for r in results
                 if key_of(r) == key_of(result)[:-1] + (result['random_from'],)), None)


def _lender(result, results):
    """The row of `results` whose random networks `result` names ('random_from'), followed
    through rows that borrowed theirs in turn to one that trained its own; None if missing."""
    seen = {key_of(result)}
    while 'random_from' in result:
        result = _named_lender(result, results)
        if result is None or key_of(result) in seen:
            return None
        seen.add(key_of(result))
    return result


def _share_random(results):
    """`results` with each row that borrowed its random networks holding those its lender
    has now (`_lender`), where they can stand for its own (`_same_start`): a row recorded
    again with new random networks carries the rows that share them along."""
    def shared(result):
        lender = 'random_from' in result and _lender(result, results)
        if not lender or not _same_start(lender, result):
            return result
        return {**result, 'random': lender['random'], 'random_from': lender['method']}
    return [shared(r) for r in results]


def _unshared(results):
    """The ids of the rows of `results` whose random networks are not those of the row they
    name ('random_from'): missing, borrowed from a third row, or other accuracies."""
    def lent(result):
        lender = _named_lender(result, results)
        return (lender is not None and 'random_from' not in lender and lender.get('random')
                and lender['random']['accuracies'] == result['random']['accuracies'])
    return [row_id(key_of(r)) for r in results if 'random_from' in r and not lent(r)]


def _record(part, result, sets):
    """The results with `result` in `part` (replacing its key's), written: read again under a
    lock, since another run of this script may have recorded rows after this one started."""
    os.makedirs(sets, exist_ok=True)
    with open(os.path.join(sets, '.results.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        recorded = json.load(open(RESULTS))
        recorded[part] = _share_random([r for r in recorded.get(part, [])
                                        if key_of(r) != key_of(result)] + [result])
        write_text(RESULTS, json.dumps(recorded, indent=1) + '\n')
    return recorded


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rows', nargs='+', default=[], metavar='ID',
                        help='rows to run, by id or shell pattern (see --list)')
    parser.add_argument('--list', action='store_true', help='list the rows and exit')
    parser.add_argument('--validation', action='store_true',
                        help='a pilot: test on a tenth of the training split held out, and '
                             'record the rows apart (BENCHMARKS.md, "Pilots"), to choose settings')
    parser.add_argument('--steps', type=int, help='run the rows for this many steps (a pilot '
                        'at a shorter budget, named apart)')
    parser.add_argument('--seeds', type=int, help="train only the evaluation's first this "
                        'many seeds (a pilot, named apart)')
    parser.add_argument('--scores', action='store_true',
                        help="add DD-Ranking's Label- and Augmentation-Robust Scores to the rows "
                             '(tfkip.transfer.robust: 5 learning rates chosen on validation, '
                             'networks on the whole training split)')
    parser.add_argument('--no-label-robust', dest='label_robust', action='store_false',
                        help='--scores: the Augmentation-Robust Score alone (no networks on the '
                             'whole training split: what a CPU allows for 32x32 images)')
    parser.add_argument('--jobs', metavar='DIR',
                        help="write the seeds' sets to train to DIR, for another machine "
                             '(benchmarks/device_networks.py), instead of training them here; '
                             'records nothing')
    parser.add_argument('--weights', metavar='DIR',
                        help='test here the networks another machine trained '
                             '(device_networks.py wrote DIR), before training any seed left')
    parser.add_argument('--check', action='store_true',
                        help='exit 1 if a file written from the results differs from them, '
                        "or a row's random networks are not those of the row it names")
    parser.add_argument('--data', default='.data',
                        help='folder holding mnist/ and cifar10/ as ImageFolder trees '
                             '(default: %(default)s)')
    parser.add_argument('--sets', default=os.path.join('runs', 'benchmarks'),
                        help='distilled sets, checkpoints and finished seeds (default: '
                             '%(default)s)')
    args = parser.parse_args(argv)
    recorded = json.load(open(RESULTS))
    done = {key_of(r) for r in recorded['rows']}
    ids = {row_id(row.key): row for row in ROWS}
    if args.list:
        print('\n'.join(f'{i}{"  (recorded)" if r.key in done else ""}' for i, r in ids.items()))
        return 0
    wanted = [i for i in ids if any(fnmatch.fnmatchcase(i, p) for p in args.rows)]
    unmatched = [p for p in args.rows if not any(fnmatch.fnmatchcase(i, p) for i in ids)]
    if unmatched:
        parser.error(f'--rows: no row matches {", ".join(unmatched)} (see --list)')
    missing = sorted({DATASETS[ids[i].dataset][0] for i in wanted} - {
        s for s, _ in DATASETS.values() if ':' in s or os.path.isdir(os.path.join(args.data, s))})
    if missing:
        parser.error(f'--data: no {", ".join(missing)} folder in {args.data} (docs/benchmarks.md '
                     'says how to make them)')
    if args.check:
        faults = [f'{os.path.relpath(p, ROOT)} is not what its results give: run python '
                  'benchmarks/run.py' for p, text in written(recorded).items()
                  if open(p).read() != text] + [
            f'{os.path.relpath(RESULTS, ROOT)}: {i} is not recorded with the random networks '
            'of the row it names: record it again'
            for part in ('rows', 'pilots') for i in _unshared(recorded.get(part, []))]
        if faults:
            print('\n'.join(faults))
        return 1 if faults else 0
    external = [i for i in wanted if ids[i].external or ids[i].published]
    if args.validation and args.scores:
        parser.error('--scores with --validation: the scores choose their learning rates on a '
                     'validation split of their own and test on the test split')
    if args.weights and not os.path.isfile(os.path.join(args.weights, 'trained.json')):
        parser.error(f'--weights: no trained.json in {args.weights} (device_networks.py '
                     'writes it)')
    if not args.label_robust and not args.scores:
        parser.error('--no-label-robust: only with --scores')
    if args.validation and external:
        parser.error(f'--validation: {", ".join(external)} evaluate(s) a set another tool '
                     "made; pilots choose tfkip's settings")
    for flag in ('steps', 'seeds'):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f'--{flag}: at least 1, got {getattr(args, flag)}')
    from tfkip.transfer.robust import ScoreConfig
    scores = ScoreConfig(label_robust=args.label_robust) if args.scores else None
    part = 'pilots' if args.validation else 'rows'
    # The code this process loaded, whatever the checkout holds later: rows recorded before
    # this one change results files, not the code.
    ran_at = commit()
    for i in wanted:
        print(f'== {i}', flush=True)
        row = ids[i] if args.steps is None else _at(ids[i], args.steps)
        if args.seeds is not None:
            row = dataclasses.replace(row, name=f'{row.key[-1]}, {args.seeds} seeds')
        result = run_row(row, args.data, args.sets, recorded.get(part, []),
                         lambda line: print(f'   {line}', flush=True), args.validation,
                         args.seeds, scores, Elsewhere(args.jobs, args.weights), ran_at)
        if result is None:
            continue
        recorded = _record(part, result, args.sets)
    for path, text in written(recorded).items():
        write_text(path, text)
    plot(recorded['rows'], PLOT)
    print(f'wrote BENCHMARKS.md, README.md\'s results and {os.path.relpath(PLOT, ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
