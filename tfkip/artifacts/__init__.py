"""The distilled-set artifact every method writes and every evaluator reads."""
from tfkip.artifacts.distilled_set import DistilledSet, load, save

__all__ = ['DistilledSet', 'load', 'save']
