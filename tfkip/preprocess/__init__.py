"""Preprocessing of real images before distillation."""
from tfkip.preprocess.standardize import ChannelStats, channel_stats, standardize

__all__ = ['ChannelStats', 'channel_stats', 'standardize']
