"""Preprocessing of real images before distillation: standardization and regularized ZCA."""
from tfkip.preprocess.transform import (PreprocessConfig, PreprocessStats, apply, fit, invert,
                                        transform)

__all__ = ['PreprocessConfig', 'PreprocessStats', 'apply', 'fit', 'invert', 'transform']
