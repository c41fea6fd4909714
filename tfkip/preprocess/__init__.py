"""Preprocessing of real images before distillation: standardization and regularized ZCA."""
from tfkip.preprocess.transform import (PreprocessConfig, PreprocessStats, apply, fit,
                                        from_npz_bytes, invert, to_npz_bytes, transform)

__all__ = ['PreprocessConfig', 'PreprocessStats', 'apply', 'fit', 'from_npz_bytes', 'invert',
           'to_npz_bytes', 'transform']
