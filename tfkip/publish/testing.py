"""Offline stand-ins for the authors' published sets, for tests (as `tfds.testing` is for TFDS).

`write_published_files` writes, under one directory laid out like the download URLs' paths,
the KIP and LS index CSVs and the files of the published sets in their authors' exact
formats; `published_test_cases` makes `tfds.testing.DatasetBuilderTestCase` classes that build
and load the `published_*` configs of a `kip_*` builder from them: every config at the smallest
support size, loaded again in a process that never imports tfkip, and the first config of each
method at the other sizes.
"""
import inspect
import json
import subprocess
import sys
import tempfile
import urllib.parse
from unittest import mock

import numpy as np
import tensorflow_datasets as tfds

from tfkip.publish import published
from tfkip.publish.builder import KipBuilder, PublishedConfig

WORSE, BEST = 100, 1000  # the two checkpoints each KIP variant has in the stand-in index


def local_path(url):
    """Where `write_published_files` puts the file of `url`: its path after the host."""
    return urllib.parse.urlparse(published.https(url)).path.lstrip('/')


def authors_set(num, num_classes, image_shape, seed, layout='NHWC'):
    """(images, labels) as the authors saved them: float32 images in `layout`, learned-looking
    labels [num, C] whose argmax cycles through the classes."""
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(num,) + tuple(image_shape)).astype(np.float32)
    labels = (np.eye(num_classes)[np.arange(num) % num_classes] - 1 / num_classes
              + 0.01 * rng.normal(size=(num, num_classes))).astype(np.float32)
    return (np.transpose(images, (0, 3, 1, 2)) if layout == 'NCHW' else images), labels


def _save(root, url, images, labels):
    path = root / local_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('wb') as f:
        np.savez(f, images=images, labels=labels)


def write_published_files(root, dataset, num_classes, image_shape, *, support_sizes=None):
    """The stand-in download of every published set of `dataset` under `root` (a pathlib
    or epath Path), support sizes limited to `support_sizes` if given.

    KIP variants get two index rows, the better one (checkpoint `BEST`) the only file
    written, so a builder that picks the wrong row fails; the index has rows of another
    dataset too. The file of each set is seeded by its config name (`seed_of`).

    Returns:
      [PublishedSet] written.
    """
    sets = [p for p in published.published_sets(dataset, num_classes, image_shape[-1] == 3)
            if support_sizes is None or p.support_size in support_sizes]
    rows = {'kip': [], 'ls': []}
    for p in sets:
        images, labels = authors_set(p.support_size, num_classes, image_shape, seed_of(p),
                                     'NCHW' if p.method == 'rfad' else 'NHWC')
        if p.method == 'rfad':
            _save(root, published.RFAD_URL.format(dataset=dataset, ipc=p.images_per_class),
                  images, labels)
            continue
        checkpoints = ((WORSE, 0.21, 0.05), (BEST, 0.53, 0.04)) if p.method == 'kip' else (
            (0, 0.4, 0.04),)
        for ckpt, acc, mse in checkpoints:
            name = p.file_stem + (f'_ckpt{ckpt}' if p.method == 'kip' else '')
            url = ('https://storage.cloud.google.com/kip-datasets/'
                   f'{p.method}/{dataset}/{name}.npz')
            rows[p.method].append([p.architecture, dataset, p.support_size, p.zca,
                                   p.learned_labels, p.augmentation, ckpt, acc, mse, url])
            if ckpt != WORSE:
                _save(root, url, images, labels)
    for method, header in (('kip', 'architecture,dataset,ssize,zca,l,aug,ckpt,test_acc,'
                                    'test_mse,URL'),
                           ('ls', 'architecture,dataset,ssize,zca,l,ckpt,test_acc,test_mse,URL')):
        other = ['ConvNet', 'not_' + dataset, 10, False, False, False, 5, 0.99, 0.01,
                 f'gs://kip-datasets/{method}/elsewhere.npz']
        lines = [header] + [','.join(str(v) for v in (row if method == 'kip' else
                                                        row[:5] + row[6:]))
                            for row in rows[method] + [other]]
        path = root / local_path(published.INDEX_URLS[method])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('\n'.join(lines) + '\n')
    return sets


def seed_of(published_set):
    return sum(published_set.name.encode())


def raw_train_images(image_shape, num=5040, seed=0):
    """Stand-in raw train split (uint8): enough images for the KIP recipe's 5000 held out."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (num,) + tuple(image_shape), dtype=np.uint8)


def loaded(data_dir, dataset, names):
    """{config name: what TFDS alone finds of it in `data_dir`}; with TFDS's imports only, so
    that `LOAD_WITHOUT_TFKIP` runs it in a process that never imports tfkip."""
    import os
    import tensorflow_datasets as tfds
    found = {}
    for name in names:
        builder = tfds.builder(f'{dataset}/{name}', data_dir=data_dir)
        rows = tfds.as_numpy(builder.as_dataset('train', batch_size=-1))
        meta = builder.info.metadata
        found[name] = {'num': len(rows['image']), 'zca': meta['config']['zca'],
                       'published': meta.get('published'),
                       'preprocessing_file': os.path.exists(os.path.join(builder.data_dir,
                                                                         'preprocessing.npz'))}
    return found


LOAD_WITHOUT_TFKIP = inspect.getsource(loaded) + '''
import json, sys
found = loaded(sys.argv[1], sys.argv[2], sys.argv[3:])
found['tfkip_imported'] = any(m.split('.')[0] in ('tfkip', 'tfds_builders') for m in sys.modules)
print(json.dumps(found))
'''


class PublishedSetsTestCase(tfds.testing.DatasetBuilderTestCase):
    """Builds and loads the `published_*` configs of one support size (`SUPPORT_SIZE`) from
    stand-in downloads, then loads them again: in a process without tfkip if `WITHOUT_TFKIP`."""
    SUPPORT_SIZE = None
    # Checksums are registered on the first real download (`tfds build --register_checksums`).
    SKIP_CHECKSUMS = True
    # Loaded eagerly (TF2, or as NumPy for JAX): not TFDS's second, TF1-graph-mode pass.
    SKIP_TF1_GRAPH_MODE = True
    WITHOUT_TFKIP = True  # load the configs again in a process that never imports tfkip

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        builder = cls.DATASET_CLASS
        cls._files = tempfile.TemporaryDirectory()
        # One data_dir for the whole class, which the process without tfkip then reads
        # (the test case's own `tmp_dir` is made afresh by each setUp).
        cls._data_dir = tempfile.TemporaryDirectory()
        write_published_files(tfds.core.Path(cls._files.name), builder.SOURCE,
                              len(builder.CLASS_NAMES), builder.IMAGE_SHAPE,
                              support_sizes=(cls.SUPPORT_SIZE,))
        cls._train = raw_train_images(builder.IMAGE_SHAPE)

    @classmethod
    def tearDownClass(cls):
        cls._files.cleanup()
        cls._data_dir.cleanup()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        # The stand-in downloads need no network: the reachability check passes.
        for patcher in (mock.patch.object(KipBuilder, 'source_train_images',
                                          lambda _: self._train),
                        mock.patch('tfkip._net.unreachable', lambda url: None)):
            patcher.start()
            self.patchers.append(patcher)

    def _make_builder(self, config=None):
        return self.DATASET_CLASS(data_dir=self._data_dir.name, config=config)

    def _get_dl_download_result(self, url):
        self._add_url(url)
        return tfds.core.Path(self._files.name) / local_path(url)

    def test_download_and_prepare_as_dataset(self):
        super().test_download_and_prepare_as_dataset()
        names = self.BUILDER_CONFIG_NAMES_TO_TEST
        if self.WITHOUT_TFKIP:
            done = subprocess.run([sys.executable, '-c', LOAD_WITHOUT_TFKIP,
                                   self._data_dir.name, self.DATASET_CLASS.name, *names],
                                  capture_output=True, text=True, cwd=self._data_dir.name)
            self.assertEqual(done.returncode, 0, done.stderr[-3000:])
            found = json.loads(done.stdout.strip().splitlines()[-1])
            self.assertFalse(found.pop('tfkip_imported'))
        else:
            found = loaded(self._data_dir.name, self.DATASET_CLASS.name, names)
        self.assertEqual(sorted(found), sorted(names))
        configs = {c.name: c.published for c in self.DATASET_CLASS.BUILDER_CONFIGS
                   if isinstance(c, PublishedConfig)}
        for name, loaded_set in found.items():
            p = configs[name]
            self.assertEqual(loaded_set['num'], self.SUPPORT_SIZE)
            self.assertEqual(loaded_set['zca'], p.zca)
            self.assertTrue(loaded_set['preprocessing_file'])
            if p.method == 'kip':  # the index's best checkpoint was the one taken
                self.assertTrue(loaded_set['published']['url'].endswith(f'_ckpt{BEST}.npz'))


def published_test_cases(builder_cls):
    """{class name: PublishedSetsTestCase subclass}, one per support size of the builder's
    `published_*` configs, for a test module's globals: every config at the smallest size,
    loaded again without tfkip, and the first config of each method at the others (a
    config's file and format differ from another size's only in the size, which each class
    checks)."""
    by_size = {}
    for config in builder_cls.BUILDER_CONFIGS:
        if isinstance(config, PublishedConfig):
            by_size.setdefault(config.published.support_size, []).append(config)
    smallest = min(by_size, default=None)

    def tested(size):
        configs = by_size[size]
        if size != smallest:
            first = {}
            for config in configs:
                first.setdefault(config.published.method, config)
            configs = list(first.values())
        return [c.name for c in configs]

    return {f'Published{size}Test': type(f'Published{size}Test', (PublishedSetsTestCase,), {
        'DATASET_CLASS': builder_cls, 'SUPPORT_SIZE': size, 'SPLITS': {'train': size},
        'BUILDER_CONFIG_NAMES_TO_TEST': tested(size), 'WITHOUT_TFKIP': size == smallest})
        for size in by_size}
