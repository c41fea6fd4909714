"""`publish`: turn a distilled-set artifact into a prepared TFDS dataset in a data_dir.

After it, `tfds.load('<dataset>/<config>', data_dir=...)` works with or without tfkip
installed: TFDS reads prepared datasets from their files alone.
"""
import importlib
import os
import tempfile

import tensorflow_datasets as tfds

from tfkip._tf import tf
from tfkip.artifacts import distilled_set
from tfkip.errors import TfkipError

DATASETS = ('kip_mnist', 'kip_fashion_mnist', 'kip_cifar10', 'kip_cifar100', 'kip_svhn')


def builder_class(dataset):
    """The `Builder` of `tfds_builders/<dataset>` (importing it registers it with TFDS)."""
    if dataset not in DATASETS:
        raise TfkipError(f'unknown dataset {dataset!r}; choose one of {", ".join(DATASETS)}')
    return importlib.import_module(f'tfds_builders.{dataset}.{dataset}_dataset_builder').Builder


def _check_variant(distilled, config, where):
    """The artifact's recorded config must be what the builder config's name promises."""
    meta = distilled.metadata
    if 'config' not in meta:  # a set published with the papers: nothing recorded to check
        return
    variant, made = config.variant, meta['config']
    found = {'kernel': made['kernel']['architecture'],
             'zca': bool((meta.get('preprocessing') or {}).get('config', {}).get('zca')),
             'learned_labels': bool(made.get('learn_labels')) and made.get('method') == 'kip',
             'images_per_class': made['images_per_class']}
    wanted = {'kernel': variant.kernel, 'zca': variant.zca,
              'learned_labels': variant.learned_labels,
              'images_per_class': config.images_per_class}
    wrong = {k: (found[k], wanted[k]) for k in wanted if found[k] != wanted[k]}
    if wrong:
        raise TfkipError(f'{where} does not fit config {config.name!r}: ' + ', '.join(
            f'{k} is {f!r}, the config says {w!r}' for k, (f, w) in wrong.items()))


def publish(artifact, dataset, config_name, data_dir):
    """Builds `<dataset>/<config_name>` from the artifact into `data_dir`; returns its path.

    Rebuilds if it exists (TFDS writes to a temporary directory and renames it into place).
    """
    tf()  # TF (inside TFDS) sees no GPU
    builder_cls = builder_class(dataset)
    configs = {c.name: c for c in builder_cls.BUILDER_CONFIGS}
    if config_name not in configs:
        raise TfkipError(f'{dataset} has no config {config_name!r}; it has '
                         f'{", ".join(sorted(configs))}')
    distilled = distilled_set.load(artifact)
    distilled.check_matches(builder_cls.IMAGE_SHAPE, len(builder_cls.CLASS_NAMES),
                            f'{dataset}/{config_name}')
    _check_variant(distilled, configs[config_name], artifact)
    with tempfile.TemporaryDirectory() as manual_dir:
        distilled_set.save(distilled, os.path.join(manual_dir, config_name),
                           preprocessing=distilled_set.load_preprocessing(distilled))
        builder = builder_cls(config=config_name, data_dir=data_dir)
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
            manual_dir=manual_dir, download_mode=tfds.download.GenerateMode.FORCE_REDOWNLOAD))
    return str(builder.data_dir)
