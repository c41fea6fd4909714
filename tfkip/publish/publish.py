"""`publish`: turn a distilled-set artifact, or a set its authors published, into a prepared
TFDS dataset in a data_dir.

After it, `tfds.load('<dataset>/<config>', data_dir=...)` works with or without tfkip
installed: TFDS reads prepared datasets from their files alone.
"""
import contextlib
import difflib
import importlib
import io
import logging
import os
import tempfile

import tensorflow_datasets as tfds

from tfds_builders import DATASETS  # discovered from the builder folders
from tfkip import augment
from tfkip._io import check_writable
from tfkip._tf import tf
from tfkip.formats import distilled_set
from tfkip.errors import TfkipError
from tfkip.publish.builder import PublishedConfig, Variant


def builder_class(dataset):
    """The `Builder` of `tfds_builders/<dataset>` (importing it registers it with TFDS)."""
    if dataset not in DATASETS:
        raise TfkipError(f'unknown dataset {dataset!r}; choose one of {", ".join(DATASETS)}')
    return importlib.import_module(f'tfds_builders.{dataset}.{dataset}_dataset_builder').Builder


def config_of(dataset, config_name):
    """The builder config `config_name` of `dataset`; an unknown name is a TfkipError that
    names the nearest real ones."""
    configs = {c.name: c for c in builder_class(dataset).BUILDER_CONFIGS}
    if config_name not in configs:
        nearest = difflib.get_close_matches(config_name, configs, n=5, cutoff=0.5)
        raise TfkipError(f'{dataset} has no config {config_name!r}; '
                         + (f'the nearest: {", ".join(nearest)}' if nearest else
                            f'{len(configs)} configs, listed in its README'))
    return configs[config_name]


def _made_as(meta):
    """What an artifact's `Metadata` says about how it was made, in a Variant's terms."""
    made = meta.distill_config()
    method = made.algorithm
    return {'method': method.publishes_as, 'kernel': method.made_with(made),
            'zca': bool((meta.preprocessing or {}).get('config', {}).get('zca')),
            # Label Solve's labels are solved, not one-hot: not a 'fixedlabels' set.
            'learned_labels': (method.labels == 'solved' or made.final_label_solve
                               or (method.learns and made.learn_labels)),
            'augmentation': bool(made.augmentation), 'factor': made.factor,
            'images_per_class': made.images_per_class}


def config_for(distilled):
    """The builder config a tfkip artifact fits, e.g. 'fc_zca_ipc10'."""
    if distilled.metadata.config is None:
        raise TfkipError('the distilled set records no config (a set published with the '
                         'papers?): name the builder config')
    found = _made_as(distilled.metadata)
    variant = Variant(found['kernel'], zca=found['zca'], learned_labels=found['learned_labels'],
                      augmentation=found['augmentation'], method=found['method'],
                      factor=found['factor'])
    return f'{variant.name}_ipc{found["images_per_class"]}'


def dataset_for_source(spec):
    """The kip_* dataset for a source spec named after the real dataset, as the dataset's
    own name or its builder's `SOURCE` ('sklearn:digits', 'tfds:svhn_cropped',
    '.data/cifar10', ...), or None."""
    name = spec.rstrip('/').split(':')[-1].split('/')[-1].lower().replace('-', '_')
    return next((dataset for dataset in DATASETS
                 if name in (dataset[len('kip_'):], builder_class(dataset).SOURCE)), None)


def augmentation(dataset):
    """The DSA groups for `dataset` ('kip_<name>' or 'kip_<name>/<config>', or None): all,
    less flips where its builder says they do not suit the images."""
    if dataset is None or builder_class(dataset.split('/')[0]).FLIPS:
        return augment.OPS
    return augment.NO_FLIP


def _check_variant(distilled, config, where):
    """The artifact's recorded config must be what the builder config's name promises."""
    if distilled.metadata.config is None:  # a set published with the papers: nothing to check
        return
    variant, found = config.variant, _made_as(distilled.metadata)
    wanted = {'method': variant.method, 'kernel': variant.kernel, 'zca': variant.zca,
              'learned_labels': variant.learned_labels, 'augmentation': variant.augmentation,
              'factor': variant.factor, 'images_per_class': config.images_per_class}
    wrong = {k: (found[k], wanted[k]) for k in wanted if found[k] != wanted[k]}
    if wrong:
        raise TfkipError(f'{where} does not fit config {config.name!r}: ' + ', '.join(
            f'{k} is {f!r}, the config says {w!r}' for k, (f, w) in wrong.items()))


def publish(artifact, dataset, config_name=None, data_dir=None):
    """Builds `<dataset>/<config>` into `data_dir`: from a tfkip artifact, or for a
    `published_*` config the authors' set (downloaded, or the file `artifact` if given).

    `config_name` None: the config the artifact fits (`config_for`). Rebuilds if it
    exists (TFDS writes to a temporary directory and renames it into place).

    Returns:
      ('<dataset>/<config>', the prepared dataset's directory).
    """
    tf()  # TF (inside TFDS) sees no GPU
    if data_dir:
        check_writable(data_dir, '--data-dir')
    builder_cls = builder_class(dataset)
    published = config_name is not None and isinstance(config_of(dataset, config_name),
                                                       PublishedConfig)
    if not published:
        if artifact is None:
            raise TfkipError('give the --artifact to publish' + (
                f' as {dataset}/{config_name}' if config_name else '') + ': only the '
                'published_* configs download their set')
        distilled = distilled_set.load(artifact)
        config_name = config_name or config_for(distilled)
        config = config_of(dataset, config_name)
        distilled.check_matches(builder_cls.IMAGE_SHAPE, len(builder_cls.CLASS_NAMES),
                                f'{dataset}/{config_name}')
        _check_variant(distilled, config, artifact)
    if data_dir:
        # TFDS builds in `incomplete.*` folders and renames them; a killed build leaves one.
        for leftover in tf().io.gfile.glob(os.path.join(data_dir, dataset, config_name,
                                                        'incomplete.*')):
            tf().io.gfile.rmtree(leftover)
    with tempfile.TemporaryDirectory() as manual_dir:
        target = os.path.join(manual_dir, config_name)
        if published and artifact is not None:
            if not tf().io.gfile.exists(artifact):
                raise TfkipError(f'published set not found: {artifact}')
            tf().io.gfile.copy(artifact, target + '.npz')
        elif not published:
            distilled_set.save(distilled, target,
                               preprocessing=distilled_set.load_preprocessing(distilled))
        builder = builder_cls(config=config_name, data_dir=data_dir)
        # TFDS prints "Downloading ... Unknown size" and draws progress bars for a build that
        # downloads nothing and takes a moment: noise here. Published sets keep their
        # downloads between builds; tfkip's are rebuilt from the artifact every time.
        tfds.disable_progress_bar()
        # Each retry of a failed download is a urllib3 warning; the failure is one error.
        logging.getLogger('urllib3').setLevel(logging.ERROR)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
                    manual_dir=manual_dir, download_mode=(
                        tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS if published
                        else tfds.download.GenerateMode.FORCE_REDOWNLOAD)))
        finally:
            tfds.enable_progress_bar()
    return f'{dataset}/{config_name}', str(builder.data_dir)
