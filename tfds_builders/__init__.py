"""TFDS builders of distilled datasets; importing `tfds_builders.kip_<name>` registers one.

`DATASETS` lists them from the folders here, so a new dataset is one new builder folder."""
import os

DATASETS = tuple(sorted(
    name for name in os.listdir(os.path.dirname(__file__))
    if name.startswith('kip_') and os.path.exists(
        os.path.join(os.path.dirname(__file__), name, f'{name}_dataset_builder.py'))))
