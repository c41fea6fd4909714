"""The distilled-set artifact every method writes and every evaluator reads."""
from tfkip.artifacts.distilled_set import DistilledSet, load, load_preprocessing, save

__all__ = ['DistilledSet', 'load', 'load_preprocessing', 'save']
