"""The whole pipeline in one run directory: `tfkip run` (see `stages` for the layout).

Names other than STAGES are imported on first use, so that the CLI's `--help` stays light.
"""
from tfkip import _lazy

# In order; each reads what the ones before it wrote into the run directory.
STAGES = ('preprocess', 'distill', 'publish', 'transfer', 'baseline', 'report')

# `tfkip run`'s distillation, chosen for what its sets are for: training networks. RFAD on the
# ConvNet family (exact ConvNet KIP costs ~10 s a step on a CPU), labels fixed and DSA
# augmentation in the loss (the transformations of the `standard` evaluation, no flips for
# digits; `RunConfig.from_options` adds them): on scikit-learn's digits at 10 images per class
# this transferred best of what was measured (BENCHMARKS.md, label handling on digits). Options
# given on the command line or in a config file override these; `tfkip distill` keeps the
# library's defaults.
RUN_DEFAULTS = {'method': 'rfad', 'architecture': 'convnet', 'depth': 3, 'kernel': 'nngp',
                'loss': 'platt', 'rf_models': 8, 'rf_width': 64, 'steps': 120,
                'learning_rate': 0.01, 'lr_schedule': 'cosine', 'target_batch_size': 500,
                'learn_labels': False, 'eval_every': 40}

_MODULES = {'RunConfig': 'config', 'load_config_file': 'config', 'run': 'stages'}
__all__ = ['STAGES'] + sorted(_MODULES)

__getattr__ = _lazy.attributes(__name__, _MODULES)
