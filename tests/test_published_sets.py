"""The authors' published sets: the index, their file formats, and `tfkip publish`, `evaluate`
and `transfer` on files in those formats (made here), end to end."""
import dataclasses
import json
import pathlib
import socket
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders.kip_cifar10  # noqa: F401 (registers them, as a user's import would)
import tfds_builders.kip_mnist  # noqa: F401
from tfkip import _net, cli, publish
from tfkip.errors import TfkipError
from tfkip.preprocess import apply
from tfkip.preprocess.published import KIP_STANDARD, RFAD_ZCA, fit
from tfkip.publish import published, testing
from tfkip.publish.builder import KipBuilder
from tfkip.publish.published import PublishedSet


def mnist_set(**kwargs):
    return PublishedSet('kip', dataset='mnist', architecture='ConvNet', support_size=10,
                        num_classes=10, zca=False, **kwargs)


def test_the_index_gives_the_variants_best_checkpoint(tmp_path):
    testing.write_published_files(tmp_path, 'mnist', 10, (28, 28, 1), support_sizes=(10,))
    index = (tmp_path / testing.local_path(published.INDEX_URLS['kip'])).read_text()
    row = published.best_row(index, mnist_set(learned_labels=False, augmentation=True), 'kip.csv')
    assert row['URL'] == ('https://storage.googleapis.com/kip-datasets/kip/mnist/'
                          f'ConvNet_ssize10_nozca_nol_aug_ckpt{testing.BEST}.npz')
    assert float(row['test_acc']) == 0.53
    with pytest.raises(TfkipError, match='lists no ConvNet_ssize100_nozca_l_noaug set for mnist'):
        published.best_row(index, PublishedSet('kip', 'mnist', 'ConvNet', 100, 10, False),
                           'kip.csv')


def test_bucket_addresses_become_https():
    for url in ('gs://kip-datasets/ls/x.npz',
                'https://storage.cloud.google.com/kip-datasets/ls/x.npz'):
        assert published.https(url) == 'https://storage.googleapis.com/kip-datasets/ls/x.npz'


def test_config_names_say_what_the_set_is():
    assert mnist_set(learned_labels=False, augmentation=True).name == \
        'published_kip_convnet_fixedlabels_aug_ipc1'
    cifar100 = PublishedSet('ls', 'cifar100', 'ConvNet', 500, 100, zca=True)
    assert cifar100.name == 'published_ls_convnet_zca_ipc5' and cifar100.kernel['prepend_conv']
    names = [p.name for p in published.published_sets('cifar10', 10, colour=True)]
    assert len(names) == len(set(names)) == 48 + 12 + 3
    # RFAD's files hold one-hot labels (the authors publish no other variant to tell apart).
    rfad = [p for p in published.published_sets('cifar10', 10, colour=True)
            if p.method == 'rfad']
    assert [p.name for p in rfad] == [f'published_rfad_convnet3_zca_ipc{i}' for i in (1, 10, 50)]
    assert all(p.describe().endswith('one-hot labels.') for p in rfad)


def test_rfad_files_are_nchw_and_bad_files_are_one_line_errors(tmp_path):
    rfad = PublishedSet('rfad', 'cifar10', 'ConvNet3', 10, 10, zca=True)
    images, labels = testing.authors_set(10, 10, (32, 32, 3), seed=0, layout='NCHW')
    np.savez(tmp_path / 'best.npz', images=images, labels=labels)
    read = published.read_set((tmp_path / 'best.npz').read_bytes(), rfad, 'best.npz')
    np.testing.assert_array_equal(read.images, np.transpose(images, (0, 2, 3, 1)))
    np.savez(tmp_path / 'bad.npz', pictures=images)
    with pytest.raises(TfkipError, match="bad.npz: a published set needs the keys 'images'"):
        published.read_set((tmp_path / 'bad.npz').read_bytes(), rfad, 'bad.npz')
    with pytest.raises(TfkipError, match='10 images, the published_kip_convnet_ipc10 set has 100'):
        published.read_set((tmp_path / 'best.npz').read_bytes(),
                           dataclasses.replace(mnist_set(), support_size=100), 'x.npz')


@pytest.fixture
def train_split(monkeypatch):
    """The source's raw train split, standing in for `tfds.load(SOURCE)` (no download)."""
    splits = {}

    def source_train_images(builder):
        splits.setdefault(builder.SOURCE, testing.raw_train_images(builder.IMAGE_SHAPE))
        return splits[builder.SOURCE]
    monkeypatch.setattr(KipBuilder, 'source_train_images', source_train_images)
    return splits


@pytest.mark.slow
def test_a_downloaded_kip_file_publishes_evaluates_and_transfers(tmp_path, train_split, capsys):
    files = tmp_path / 'downloads'
    testing.write_published_files(files, 'mnist', 10, (28, 28, 1), support_sizes=(10,))
    authors_file = (files / 'kip-datasets/kip/mnist'
                    / f'ConvNet_ssize10_nozca_l_noaug_ckpt{testing.BEST}.npz')
    data_dir = str(tmp_path / 'tfds')
    name = 'kip_mnist/published_kip_convnet_ipc1'
    assert cli.main(['publish', '--dataset', 'kip_mnist', '--config', name.split('/')[1],
                     '--artifact', str(authors_file), '--data-dir', data_dir]) == 0
    assert json.loads(capsys.readouterr().out)['dataset'] == name

    builder = tfds.builder(name, data_dir=data_dir)
    rows = tfds.as_numpy(builder.as_dataset('train', batch_size=-1))
    with np.load(authors_file) as f:  # the same images (TFDS shuffles them)
        assert sorted(map(bytes, rows['image'])) == sorted(map(bytes, f['images']))
    expected = fit(KIP_STANDARD, train_split['mnist'], builder.info.features['label'].names,
                   'tfds:mnist')
    np.testing.assert_array_equal(builder.info.metadata.stats.channel.std, expected.channel.std)
    assert builder.info.metadata['published'] == {'file': f'{name.split("/")[1]}.npz'}

    rng = np.random.default_rng(1)
    real = rng.integers(0, 256, (30, 28, 28, 1)).astype(np.uint8)
    np.savez(tmp_path / 'real.npz', test_images=real, test_labels=np.arange(30) % 10)
    assert cli.main(['evaluate', '--dataset', name, '--data-dir', data_dir,
                     '--source', str(tmp_path / 'real.npz')]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics['dataset'] == name and 0 <= metrics['accuracy'] <= 1
    # The authors' ConvNet: an extra first conv layer, the NTK.
    assert metrics['kernel']['prepend_conv'] and metrics['kernel']['kernel'] == 'ntk'

    assert cli.main(['transfer', '--dataset', name, '--data-dir', data_dir, '--test-source',
                     str(tmp_path / 'real.npz'), '--width', '4', '--steps', '2', '--seeds',
                     '0', '--protocol', 'kip']) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()
               if line.startswith('{')]
    assert results[0]['network'] == 'convnet' and len(results[0]['accuracies']) == 1


@pytest.mark.slow
def test_an_rfad_file_loads_with_rfads_preprocessing(tmp_path, train_split, capsys):
    files = tmp_path / 'downloads'
    testing.write_published_files(files, 'cifar10', 10, (32, 32, 3), support_sizes=(10,))
    best = files / testing.local_path(published.RFAD_URL.format(dataset='cifar10', ipc=1))
    data_dir = str(tmp_path / 'tfds')
    assert cli.main(['publish', '--dataset', 'kip_cifar10', '--config',
                     'published_rfad_convnet3_zca_ipc1', '--artifact', str(best),
                     '--data-dir', data_dir]) == 0
    builder = tfds.builder('kip_cifar10/published_rfad_convnet3_zca_ipc1', data_dir=data_dir)
    images = tfds.as_numpy(builder.as_dataset('train', batch_size=-1))['image']
    with np.load(best) as f:
        expected = np.transpose(f['images'], (0, 2, 3, 1))
    assert sorted(map(bytes, images)) == sorted(map(bytes, expected))
    # The statistics map real images as RFAD's own code does (tests/test_published_preprocessing).
    stats = builder.info.metadata.stats
    again = fit(RFAD_ZCA, train_split['cifar10'], stats.class_names, 'tfds:cifar10')
    probe = train_split['cifar10'][:3]
    np.testing.assert_allclose(apply(stats, probe), apply(again, probe), rtol=1e-5, atol=1e-5)
    assert 'RFAD' in stats.source


def test_tfds_alone_takes_the_authors_file_from_the_manual_dir(tmp_path, train_split):
    testing.write_published_files(tmp_path / 'files', 'mnist', 10, (28, 28, 1),
                                  support_sizes=(10,))
    manual = tmp_path / 'manual'
    manual.mkdir()
    kept = f'ConvNet_ssize10_nozca_nol_noaug_ckpt{testing.BEST}.npz'
    (manual / kept).write_bytes((tmp_path / 'files/kip-datasets/kip/mnist' / kept).read_bytes())
    (manual / 'ConvNet_ssize10_nozca_l_noaug_ckpt5.npz').write_bytes(b'another variant')
    builder = tfds.builder('kip_mnist/published_kip_convnet_fixedlabels_ipc1',
                           data_dir=str(tmp_path / 'tfds'))
    config = tfds.download.DownloadConfig(manual_dir=str(manual))
    builder.download_and_prepare(download_config=config)
    assert builder.info.metadata['published'] == {'file': kept}
    assert builder.info.splits['train'].num_examples == 10
    (manual / kept.replace('1000', '2000')).write_bytes(b'a second checkpoint')
    again = tfds.builder('kip_mnist/published_kip_convnet_fixedlabels_ipc1',
                         data_dir=str(tmp_path / 'tfds2'))
    with pytest.raises(TfkipError, match='holds 2 files of published_kip_convnet_fixedlabels_ipc1'):
        again.download_and_prepare(download_config=config)


def test_a_failed_download_is_one_line_that_says_what_to_do(tmp_path, monkeypatch, capsys):
    def offline(self, url):
        raise ConnectionError(f"HTTPSConnectionPool: Max retries exceeded with url: {url}")
    monkeypatch.setattr(_net, 'unreachable', lambda url: None)  # it fails later
    monkeypatch.setattr(tfds.download.DownloadManager, 'download', offline)
    assert cli.main(['publish', '--dataset', 'kip_mnist', '--config',
                     'published_kip_convnet_ipc1', '--data-dir', str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['tfkip publish: error: could not download https://storage.googleapis.com/'
                   'kip-datasets/kip/kip.csv (ConnectionError: HTTPSConnectionPool: Max retries '
                   'exceeded with url: https://storage.googleapis.com/kip-datasets/kip/kip.csv); '
                   "without internet, give the authors' file of published_kip_convnet_ipc1 "
                   '(tfkip publish --artifact, or the manual dir)']


def _default(dataset):
    return publish.config_of(dataset, publish.builder_class(dataset).DEFAULT_BUILDER_CONFIG_NAME)


def test_kip_cifar10s_default_is_the_published_set_that_measured_best():
    """The default config is the authors' set whose networks scored best in the committed
    benchmark rows (`standard` protocol), so that it follows the measurements."""
    with open(pathlib.Path(__file__).parents[1] / 'benchmarks' / 'results' /
              'benchmarks.json') as f:
        rows = json.load(f)['rows']
    measured = {r['external']['published']: r['distilled']['mean'] for r in rows
                if r['dataset'] == 'cifar10' and r['suite'] == 'standard'
                and 'published' in (r.get('external') or {})}
    assert measured
    assert _default('kip_cifar10').name == max(measured, key=measured.get)
    readme = pathlib.Path(tfds_builders.kip_cifar10.__file__).with_name('README.md')
    assert f"loads `{_default('kip_cifar10').name}`" in readme.read_text()


def test_tfds_load_without_a_config_downloads_the_default_published_set(tmp_path, monkeypatch):
    default = _default('kip_cifar10').published
    files = tmp_path / 'downloads'
    testing.write_published_files(files, 'cifar10', 10, (32, 32, 3),
                                  support_sizes=(default.support_size,))
    fetched = []

    def download(self, url):  # the builder tests' stand-in of the authors' files
        fetched.append(url)
        return tfds.core.Path(files) / testing.local_path(url)
    monkeypatch.setattr(tfds.download.DownloadManager, 'download', download)
    monkeypatch.setattr(_net, 'unreachable', lambda url: None)
    monkeypatch.setattr(KipBuilder, 'source_train_images',
                        lambda self: testing.raw_train_images((32, 32, 3)))
    rows = tfds.load('kip_cifar10', split='train', batch_size=-1, data_dir=str(tmp_path / 'tfds'))
    assert fetched == [published.RFAD_URL.format(dataset='cifar10',
                                                 ipc=default.images_per_class)]
    assert len(rows['image']) == default.support_size


@pytest.mark.parametrize('name,url', [
    ('kip_mnist/published_kip_convnet_ipc1', 'https://storage.googleapis.com/kip-datasets/kip/'
                                             'kip.csv'),
    ('kip_cifar10', 'https://github.com/yolky/RFAD/raw/')])
def test_offline_a_download_fails_in_one_line_within_30_seconds(tmp_path, monkeypatch, name,
                                                                url):
    """No name resolves (a machine without network): TFDS alone would retry for 3.4 minutes;
    the reachability check answers at once. Through `tfds.load`, as a user would, the default
    config of kip_cifar10 included."""
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, 'Name or service not known')
    monkeypatch.setattr(socket, 'getaddrinfo', no_dns)
    monkeypatch.delenv('https_proxy', raising=False)
    monkeypatch.delenv('HTTPS_PROXY', raising=False)
    start = time.monotonic()
    with pytest.raises(TfkipError) as error:
        tfds.load(name, data_dir=str(tmp_path))
    assert time.monotonic() - start < 30
    message = str(error.value)
    assert '\n' not in message and message.startswith(f'could not download {url}')
    assert '(gaierror' in message
    assert "without internet, give the authors' file" in message


def test_a_published_config_without_a_file_needs_no_artifact_but_a_tfkip_one_does(tmp_path,
                                                                                capsys):
    assert cli.main(['publish', '--dataset', 'kip_mnist', '--config', 'convnet_ipc1',
                     '--data-dir', str(tmp_path)]) == 2
    assert 'give the --artifact to publish as kip_mnist/convnet_ipc1' in capsys.readouterr().err
    assert cli.main(['publish', '--dataset', 'kip_mnist', '--config',
                     'published_kip_convnet_ipc1', '--artifact', str(tmp_path / 'none.npz'),
                     '--data-dir', str(tmp_path)]) == 2
    assert 'published set not found' in capsys.readouterr().err
