"""Keras finite-width transfer: the whitening layer, the ConvNet, train-and-test."""
from tfkip.transfer.layers import ZCAWhitening
from tfkip.transfer.models import conv_net
from tfkip.transfer.train import TransferConfig, train_and_evaluate

__all__ = ['TransferConfig', 'ZCAWhitening', 'conv_net', 'train_and_evaluate']
