"""Beam preprocessing stage: standardize + regularized ZCA with train statistics.

    python pipelines/preprocess.py --source .data/cifar10 --output runs/cifar10_zca

Flags are documented by --help; every other argument is a Beam pipeline option
(e.g. --runner DataflowRunner ... --setup_file ./setup.py). The stage itself lives in
`tfkip.beam.preprocess`, so remote workers get it from the installed package.
"""
import sys

from tfkip.beam.preprocess import run

if __name__ == '__main__':
    sys.exit(run(sys.argv[1:]))
