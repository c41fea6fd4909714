"""Times the full test suite as CI runs it and records the 20 slowest tests.

    python benchmarks/suite_time.py --label after     # ~10-25 min on 2 cores
    python benchmarks/suite_time.py --label before --tree ../old-checkout

Runs `python -m pytest -q --durations=20` at the root of this checkout (or of `--tree`, with
its `tfkip` first on PYTHONPATH, so that the processes the tests start run that tree too) and
merges one row, keyed by `--label`, into this checkout's
`benchmarks/results/suite_time.{json,md}`: wall time, pass/fail counts, the slowest tests,
the tree's commit when the run started and the machine.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from benchmarks._common import cpu_name  # noqa: E402
from tfkip._io import write_text  # noqa: E402

RESULTS = os.path.join(HERE, 'results', 'suite_time')
SLOWEST = re.compile(r'^([\d.]+)s (call|setup|teardown)\s+(.+)$')


def measure(tree, pytest_args):
    """{'seconds', 'summary', 'slowest': [[seconds, phase, test]]} of one pytest run."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [tree] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '--durations=20',
                           '-p', 'no:cacheprovider', *pytest_args], cwd=tree, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = proc.stdout.splitlines()
    slowest = [[float(m[1]), m[2], m[3]] for m in map(SLOWEST.match, lines) if m]
    summary = next((line.strip('= ') for line in reversed(lines)
                    if ' passed' in line or ' failed' in line), '')
    return {'seconds': round(seconds, 1), 'returncode': proc.returncode, 'summary': summary,
            'failed': [line.split()[1] for line in lines if line.startswith('FAILED ')],
            'slowest': slowest}


def markdown(rows):
    out = ['# Test suite wall time', '',
           'Written by `benchmarks/suite_time.py`: `python -m pytest -q --durations=20` from '
           'the repository root.', '',
           '| label | wall time | result | commit | machine | date |', '|---|---|---|---|---|---|']
    for label, row in rows.items():
        out.append(f"| {label} | {row['seconds'] / 60:.1f} min ({row['seconds']:.0f} s) | "
                   f"{row['summary']} | {row['commit']} | {row['machine']} | {row['date']} |")
    for label, row in rows.items():
        out += ['', f'## 20 slowest, {label}', '', '| seconds | phase | test |', '|---|---|---|']
        out += [f'| {s:.1f} | {phase} | `{test}` |' for s, phase, test in row['slowest']]
        if row.get('failed'):
            out += ['', 'Failed: ' + ', '.join(f'`{test}`' for test in row['failed'])]
    return '\n'.join(out) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--label', required=True, help='the row to write, e.g. before, after')
    parser.add_argument('--tree', default=ROOT,
                        help='the checkout to test (default: this one)')
    parser.add_argument('pytest_args', nargs='*', help='extra pytest arguments (after --)')
    args = parser.parse_args(argv)
    tree = os.path.abspath(args.tree)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=tree,
                            capture_output=True, text=True).stdout.strip()
    row = measure(tree, args.pytest_args)
    row.update(commit=commit, machine=f'{os.cpu_count()} cores, {cpu_name()}',
               date=datetime.date.today().isoformat())
    rows = json.load(open(RESULTS + '.json')) if os.path.exists(RESULTS + '.json') else {}
    rows[args.label] = row
    write_text(RESULTS + '.json', json.dumps(rows, indent=1) + '\n')
    write_text(RESULTS + '.md', markdown(rows))
    print(f"{args.label}: {row['seconds']:.0f} s, {row['summary']}"
          + ''.join(f'\n  FAILED {test}' for test in row.get('failed', [])))
    return 0 if row['returncode'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
