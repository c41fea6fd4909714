"""The whole pipeline in one run directory: `tfkip run` (see `stages` for the layout).

Names other than STAGES are imported on first use, so that the CLI's `--help` stays light.
"""
from tfkip import _lazy

# In order; each reads what the ones before it wrote into the run directory.
STAGES = ('preprocess', 'distill', 'publish', 'transfer', 'baseline', 'report')

# `tfkip run`'s distillation, chosen for what its sets are for: training networks, by pilots
# on a validation split at the preset's budget (docs/pipeline.md gives the reasons and
# BENCHMARKS.md the figures). DM on the ConvNet family, matching class means and (IID's
# term) class covariances under DSA's Siamese augmentation (the dataset's groups: no flips
# for digits; `RunConfig.from_options` adds them), each stored image `RUN_FACTOR` x
# `RUN_FACTOR` sub-images where the images are `RUN_FACTOR_SIDE` pixels a side or more.
# Options given on the command line or in a config file override these; another --method
# drops the ones that are DM's; `tfkip distill` keeps the library's defaults.
RUN_DEFAULTS = {'method': 'dm', 'architecture': 'convnet', 'depth': 3, 'kernel': 'nngp',
                'dm_siamese': True, 'dm_cov_weight': 0.01, 'steps': 300, 'learning_rate': 0.01,
                'lr_schedule': 'cosine', 'target_batch_size': 500, 'eval_every': 100}
RUN_FACTOR, RUN_FACTOR_SIDE = 2, 28
# What the report says of the preset.
PRESET_REASON = ('DM with Siamese DSA matched RFAD on 8x8 digits and led it on CIFAR-10 in '
                 'pilots at equal time; storing four sub-images of half the side in each '
                 'image of 28x28 or more (IDM\'s multi-formation) led storing one on CIFAR-10 '
                 'and MNIST; and matching class covariances as well as means (IID) led on '
                 'CIFAR-10 at 10 images per class and matched the means alone at 1 and on '
                 'digits')

_MODULES = {'RunConfig': 'config', 'load_config_file': 'config', 'run': 'stages'}
__all__ = ['PRESET_REASON', 'RUN_DEFAULTS', 'RUN_FACTOR', 'RUN_FACTOR_SIDE',
           'STAGES'] + sorted(_MODULES)

__getattr__ = _lazy.attributes(__name__, _MODULES)
