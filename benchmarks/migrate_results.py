"""One-off: the results of the retired benchmark scripts into results/benchmarks.json (run once,
then removed; kept in the history beside the commit that used it)."""
import dataclasses
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rows import SUITES  # noqa: E402
from tfkip import cli, options  # noqa: E402
from tfkip.pipeline.config import RunConfig  # noqa: E402
from tfkip.publish import augmentation  # noqa: E402
from tfkip.transfer.train import protocol  # noqa: E402

R = 'benchmarks/results/'


def git(*a):
    return subprocess.run(['git', *a], capture_output=True, text=True, check=True).stdout


def first_commit(path, test):
    """The first commit whose version of `path` passes `test` (the row's figures)."""
    for c in git('log', '--reverse', '--format=%h', '--', path).split():
        try:
            if test(json.loads(git('show', f'{c}:{path}'))):
                return c
        except (subprocess.CalledProcessError, json.JSONDecodeError, KeyError, TypeError):
            pass
    raise SystemExit(f'no commit of {path} has the row')


def text(m):
    cores = len(m.get('affinity', [])) or m['cores']
    return (f'{m["cpu"]}, {m["cores"]} cores' + (f' ({cores} used)' if cores < m['cores'] else '')
            + f', JAX {m["jax"]} on {m["devices"][0]}, Python {m["python"]}')


def nets(prefix, r):
    return {k: r[f'{prefix}_{k}'] for k in ('mean', 'std', 'accuracies')}


rows = []
for r in json.load(open(R + 'transfer.json')):
    same = lambda t, r=r: any(x['method'] == r['method'] and x['dataset'] == r['dataset'] and
                              x['images_per_class'] == r['images_per_class'] and
                              x['distilled_mean'] == r['distilled_mean'] for x in t)
    rows.append({'suite': 'standard', 'dataset': r['dataset'],
                 'images_per_class': r['images_per_class'], 'method': r['method'],
                 'distill_config': r['distill_config'], 'evaluation': r['evaluation'],
                 'distill_seconds': r['distill_seconds'], 'distill_steps': r['distill_steps'],
                 'history': r['history'], 'krr_accuracy': r['krr_accuracy'], 'extra': {},
                 'machine': r['machine'], 'commit': first_commit(R + 'transfer.json', same),
                 'random_krr_accuracy': r['random_krr_accuracy'],
                 'distilled': nets('distilled', r), 'random': nets('random', r),
                 **({'random_from': r['random_from']} if 'random_from' in r else {})})

for r in json.load(open(R + 'kip_convnet_cpu.json')):
    same = lambda t, r=r: any(x['dataset'] == r['dataset'] and x['accuracy'] == r['accuracy']
                              and ('transfer' in x) == ('transfer' in r) for x in t)
    t = r.get('transfer')
    rows.append({'suite': 'standard' if t else 'krr', 'dataset': r['dataset'],
                 'images_per_class': 1,
                 'method': 'kip, learned labels, no augmentation' if t else 'kip',
                 'distill_config': r['config'], 'evaluation': t and t['evaluation'],
                 'distill_seconds': r['seconds'], 'distill_steps': r['steps'],
                 'history': r['history'], 'krr_accuracy': r['accuracy'], 'extra': {},
                 'machine': text(r['machine']),
                 'commit': first_commit(R + 'kip_convnet_cpu.json', same),
                 'random_krr_accuracy': r['random_subset_accuracy'],
                 **({'distilled': nets('distilled', t), 'random': nets('random', t)} if t else {})})

labels = json.load(open(R + 'label_handling.json'))
commit = first_commit(R + 'label_handling.json', lambda t: t == labels)
names = {'fixed labels, DSA (the preset)': 'rfad',
         'fixed labels, no augmentation': 'rfad, no augmentation',
         'learned labels, DSA': 'rfad, learned labels',
         'learned labels, no augmentation': 'rfad, learned labels, no augmentation',
         'learned labels, DSA, final Label Solve': 'rfad, learned labels, final Label Solve'}
random = labels['rows'][-1]
evaluation = protocol('standard', augmentation=tuple(augmentation('kip_digits')))
parser = cli.build_parser()
for r in labels['rows'][:-1]:
    args = parser.parse_args(['run', '--source', 'sklearn:digits', '--run-dir', '-', *r['flags']])
    config = RunConfig.from_options(options.given(args, parser.names['run'])).distill
    first = r is labels['rows'][0]
    rows.append({'suite': 'labels', 'dataset': 'digits', 'images_per_class': 10,
                 'method': names[r['variant']],
                 'distill_config': json.loads(json.dumps(config.to_dict())),
                 'evaluation': json.loads(json.dumps(dataclasses.asdict(evaluation))),
                 'distill_seconds': r['distill_seconds'], 'distill_steps': config.steps,
                 'history': [], 'krr_accuracy': r['krr_accuracy'], 'extra': {},
                 'machine': labels['machine'], 'commit': commit,
                 'random_krr_accuracy': random['krr_accuracy'],
                 'distilled': {k: r['keras'][k] for k in ('mean', 'std', 'accuracies')},
                 'random': {k: random['keras'][k] for k in ('mean', 'std', 'accuracies')},
                 **({} if first else {'random_from': 'rfad'})})

table = json.load(open(R + 'benchmarks_table.json'))
info = table['machine']
kip_fc_mnist10 = next(r for r in table['rows'] if r['method'] == 'kip_fc'
                      and (r['dataset'], r['ipc']) == ('mnist', 10))
for r in table['rows']:
    same = lambda t, r=r: any(x.get('method', 'kip_fc') == r['method'] and x['dataset'] ==
                              r['dataset'] and x['ipc'] == r['ipc'] and x['kip_krr'] ==
                              r['kip_krr'] for x in t['rows'])
    own = r['random_transfer'] is not None
    base = r if own else kip_fc_mnist10
    rows.append({'suite': 'adam500', 'dataset': r['dataset'], 'images_per_class': r['ipc'],
                 'method': r['method'], 'distill_config': r['config']['distill'],
                 'evaluation': {**r['config']['transfer'],  # its bool: no augmentation
                                'augmentation': list(r['config']['transfer']['augmentation'] or [])},
                 'distill_seconds': r['kip_seconds'],
                 'distill_steps': r['steps'], 'history': r['history'],
                 'krr_accuracy': r['kip_krr'],
                 'extra': {'pipeline_seconds': r['pipeline_seconds'],
                           **({'dd_fresh_network_accuracy': r['dd_fresh_network_accuracy']}
                              if r.get('dd_fresh_network_accuracy') else {})},
                 'machine': text(info), 'commit': first_commit(R + 'benchmarks_table.json', same),
                 'random_krr_accuracy': base['random_krr'],
                 'distilled': {k: r['transfer'][k] for k in ('mean', 'std', 'accuracies')},
                 'random': {k: base['random_transfer'][k] for k in ('mean', 'std', 'accuracies')},
                 **({} if own else {'random_from': 'kip_fc'})})

fc = json.load(open(R + 'kip_fc_mnist.json'))
for r in fc['rows']:
    same = lambda t, r=r: any(x['ipc'] == r['ipc'] and x['accuracy'] == r['accuracy']
                              for x in t['rows'])
    rows.append({'suite': 'krr', 'dataset': 'mnist', 'images_per_class': r['ipc'],
                 'method': 'kip_fc', 'distill_config': r['config'], 'evaluation': None,
                 'distill_seconds': r['wall_time_s'], 'distill_steps': r['steps'],
                 'history': r['history'], 'krr_accuracy': r['accuracy'],
                 'extra': ({'krr_before_label_solve_accuracy': r['accuracy_before_label_solve']}
                           if r['accuracy_before_label_solve'] else {}),
                 'machine': text(fc['machine']),
                 'commit': first_commit(R + 'kip_fc_mnist.json', same),
                 'random_krr_accuracy': r['random_subset_accuracy']})

assert all(r['suite'] in SUITES for r in rows)
notes = json.load(open('.logs/notes.json'))
with open(R + 'benchmarks.json', 'w') as f:
    f.write(json.dumps({'rows': rows, 'notes': notes}, indent=1) + '\n')
print(len(rows), 'rows')
