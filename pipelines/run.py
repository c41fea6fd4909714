"""The whole pipeline, `tfkip run`, as a script: preprocess -> distill -> publish -> transfer
-> baseline -> report in one run directory (see `tfkip/pipeline/stages.py`).

    python pipelines/run.py --source sklearn:digits --run-dir runs/digits

Options: `python pipelines/run.py --help`.
"""
import sys

from tfkip.cli import main

if __name__ == '__main__':
    sys.exit(main(['run'] + sys.argv[1:]))
