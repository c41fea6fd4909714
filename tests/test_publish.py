"""Publishing a distilled set as a TFDS dataset, loaded with and without tfkip."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

import tfds_builders
from tfkip import cli
from tfkip.augment import OPS
from tfkip.distill import methods
from tfkip.formats import distilled_set
from tfkip.formats.distilled_set import DistilledSet
from tfkip.errors import TfkipError
from tfkip.preprocess import PreprocessConfig, fit
from tfkip.publish import (DATASETS, augmentation, builder_class, dataset_for_source,
                           publish)
from tfkip.sources.dataset import LabeledImages

MADE_WITH_FC = {'config': {'kernel': {'architecture': 'fc'}, 'images_per_class': 1,
                           'learn_labels': True, 'method': 'kip'},
                'preprocessing': {'config': {'zca': False}}}


def small_artifact(path):
    """A 10-image MNIST-shaped set with soft labels and standardization statistics."""
    rng = np.random.default_rng(0)
    images = rng.normal(size=(10, 28, 28, 1)).astype(np.float32)
    labels = (np.eye(10)[rng.permutation(10)] * 0.9 - 0.09).astype(np.float32)
    real = LabeledImages(rng.uniform(0, 255, (20, 28, 28, 1)), np.arange(20) % 10,
                         tuple(str(d) for d in range(10)))
    stats = fit(PreprocessConfig(zca=False), real)
    distilled_set.save(DistilledSet(images, labels, MADE_WITH_FC), path, preprocessing=stats)
    return images, labels, stats


LOAD_WITHOUT_TFKIP = '''
import json, sys
import numpy as np
import tensorflow_datasets as tfds
ds = tfds.load('kip_mnist/fc_ipc1', split='train', data_dir=sys.argv[1])
rows = list(tfds.as_numpy(ds))
order = np.argsort([r['label'] for r in rows])
config = tfds.builder('kip_mnist/fc_ipc1', data_dir=sys.argv[1]).info.metadata['config']
print(json.dumps({
    'metadata_config': config,
    'tfkip_imported': any(m.split('.')[0] in ('tfkip', 'tfds_builders') for m in sys.modules),
    'images': np.stack([rows[i]['image'] for i in order]).tolist(),
    'soft_labels': np.stack([rows[i]['soft_label'] for i in order]).tolist(),
    'labels': [int(rows[i]['label']) for i in order]}))
'''


@pytest.mark.slow
def test_published_set_loads_in_a_process_that_never_imports_tfkip(tmp_path):
    images, labels, stats = small_artifact(str(tmp_path / 'set'))
    data_dir = str(tmp_path / 'tfds')
    publish(str(tmp_path / 'set.npz'), 'kip_mnist', 'fc_ipc1', data_dir)

    out = subprocess.run([sys.executable, '-c', LOAD_WITHOUT_TFKIP, data_dir], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    assert loaded['tfkip_imported'] is False
    assert loaded['metadata_config']['standardize'] is True  # info.metadata without tfkip
    order = np.argsort(labels.argmax(1))
    np.testing.assert_array_equal(loaded['images'], images[order])
    np.testing.assert_allclose(loaded['soft_labels'], labels[order])
    assert loaded['labels'] == list(range(10))

    # With the builder imported, the preprocessing statistics come back from info.metadata.
    builder = tfds.builder('kip_mnist/fc_ipc1', data_dir=data_dir)
    np.testing.assert_array_equal(builder.info.metadata.stats.channel.std, stats.channel.std)
    assert builder.info.metadata['config']['zca'] is False
    image, label = next(iter(tfds.as_numpy(builder.as_dataset('train', as_supervised=True))))
    assert image.shape == (28, 28, 1) and 0 <= label < 10


def test_publish_checks_the_artifact_against_the_config(tmp_path, capsys):
    small_artifact(str(tmp_path / 'set'))
    with pytest.raises(TfkipError, match="kernel is 'fc', the config says 'convnet'"):
        publish(str(tmp_path / 'set.npz'), 'kip_mnist', 'convnet_ipc1', str(tmp_path / 'd'))
    with pytest.raises(TfkipError, match='distilled images are \\(28, 28, 1\\), but '
                                         'kip_cifar10/fc_zca_ipc1 has images \\(32, 32, 3\\)'):
        publish(str(tmp_path / 'set.npz'), 'kip_cifar10', 'fc_zca_ipc1', str(tmp_path / 'd'))
    assert cli.main(['publish', '--artifact', str(tmp_path / 'set.npz'), '--dataset',
                     'kip_mnist', '--config', 'fc_ipc7', '--data-dir', str(tmp_path / 'd')]) == 2
    assert "kip_mnist has no config 'fc_ipc7'; the nearest: fc_ipc1" in capsys.readouterr().err


def test_label_solve_sets_are_not_fixed_label_configs():
    from tfkip.publish.publish import _check_variant, builder_class
    configs = {c.name: c for c in builder_class('kip_mnist').BUILDER_CONFIGS}
    made = {'config': dict(MADE_WITH_FC['config'], method='ls', learn_labels=False),
            'preprocessing': MADE_WITH_FC['preprocessing']}
    solved = DistilledSet(np.zeros((10, 28, 28, 1), np.float32), np.eye(10, dtype=np.float32),
                          made)
    _check_variant(solved, configs['fc_ipc1'], 'ls.npz')
    with pytest.raises(TfkipError, match="learned_labels is True, the config says False"):
        _check_variant(solved, configs['fc_fixedlabels_ipc1'], 'ls.npz')


def test_rfad_sets_have_their_own_configs():
    from tfkip.publish.publish import _check_variant, builder_class, config_for
    configs = {c.name: c for c in builder_class('kip_cifar10').BUILDER_CONFIGS}
    made = {'config': {'kernel': {'architecture': 'convnet', 'kernel': 'nngp'},
                       'images_per_class': 1, 'learn_labels': True, 'method': 'rfad'},
            'preprocessing': {'config': {'zca': True}}}
    rfad = DistilledSet(np.zeros((10, 32, 32, 3), np.float32), np.eye(10, dtype=np.float32),
                        made)
    assert config_for(rfad) == 'rfad_convnet_zca_ipc1'
    _check_variant(rfad, configs['rfad_convnet_zca_ipc1'], 'rfad.npz')
    assert 'RFAD' in configs['rfad_convnet_zca_ipc1'].description
    with pytest.raises(TfkipError, match="method is 'rfad', the config says 'kip'"):
        _check_variant(rfad, configs['convnet_zca_ipc1'], 'rfad.npz')


@pytest.mark.parametrize('made,config', [
    ({'method': 'dd', 'options': {'dd_architecture': 'convnet'}, 'learn_labels': False},
     'dd_convnet_fixedlabels_ipc1'),
    ({'method': 'herding', 'learn_labels': True}, 'herding_ipc1'),  # coresets: one-hot labels
    ({'method': 'random'}, 'random_ipc1'),
    # frepo, dm: named after their networks, not the kernel's.
    ({'method': 'frepo', 'learn_labels': True}, 'frepo_convnet_ipc1'),
    ({'method': 'dm', 'learn_labels': False, 'augmentation': ['crop']},
     'dm_convnet_fixedlabels_aug_ipc1'),
])
def test_dd_and_coreset_sets_have_their_own_configs(made, config):
    from tfkip.publish.publish import _check_variant, builder_class, config_for
    configs = {c.name: c for c in builder_class('kip_mnist').BUILDER_CONFIGS}
    meta = {'config': {'kernel': {'architecture': 'fc'}, 'images_per_class': 1, **made},
            'preprocessing': {'config': {'zca': False}}}
    artifact = DistilledSet(np.zeros((10, 28, 28, 1), np.float32),
                            np.eye(10, dtype=np.float32), meta)
    assert config_for(artifact) == config
    _check_variant(artifact, configs[config], 'set.npz')


@pytest.mark.slow
def test_transfer_command_trains_on_the_published_set(tmp_path, capsys):
    small_artifact(str(tmp_path / 'set'))
    data_dir = str(tmp_path / 'tfds')
    assert cli.main(['publish', '--artifact', str(tmp_path / 'set.npz'), '--dataset',
                     'kip_mnist', '--config', 'fc_ipc1', '--data-dir', data_dir]) == 0
    capsys.readouterr()  # publish's own line
    rng = np.random.default_rng(1)
    np.savez(tmp_path / 'real.npz', test_images=rng.uniform(0, 255, (30, 28, 28, 1)),
             test_labels=np.arange(30) % 10)
    assert cli.main(['transfer', '--dataset', 'kip_mnist/fc_ipc1', '--data-dir', data_dir,
                     '--test-source', str(tmp_path / 'real.npz'), '--width', '4', '--steps',
                     '2', '--seeds', '0', '1', '--protocol', 'standard', 'kip']) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    results = [json.loads(line) for line in lines if line.startswith('{')]
    assert [r['protocol'] for r in results] == ['standard', 'kip']
    for result in results:  # an FC kernel's set trains the MLP
        assert len(result['accuracies']) == 2 and 0 <= result['mean'] <= 1
        assert result['network'] == 'mlp' and result['steps'] == 2
    assert cli.main(['transfer', '--dataset', 'kip_mnist/fc_ipc10', '--data-dir', data_dir,
                     '--test-source', str(tmp_path / 'real.npz')]) == 2
    assert 'kip_mnist/fc_ipc10 is not published' in capsys.readouterr().err


@pytest.mark.parametrize('dataset', DATASETS)
def test_each_builder_readme_names_every_config_family(dataset):
    """A family is a method's configs (`rfad_...`) or the authors' (`published_...`); KIP's and
    Label Solve's start with the kernel, which the README names as `<kernel>`."""
    builder = builder_class(dataset)
    first = {config.name.split('_')[0] for config in builder.BUILDER_CONFIGS}
    families = {f'`{word}_' for word in first if word in methods.REGISTRY or word == 'published'}
    readme = (pathlib.Path(tfds_builders.__file__).parent / dataset / 'README.md').read_text()
    missing = sorted(family for family in families if family not in readme)
    assert not missing, f'{dataset}/README.md does not name {missing}'


def test_dataset_facts_come_from_the_builders():
    assert dataset_for_source('tfds:svhn_cropped') == 'kip_svhn'  # its builder's SOURCE
    assert 'flip' not in augmentation('kip_mnist') and 'flip' not in augmentation('kip_digits')
    assert augmentation('kip_cifar10') == augmentation('kip_fashion_mnist/convnet_ipc1') == OPS
    for dataset in DATASETS:
        assert (builder_class(dataset).FLIPS) == ('flip' in augmentation(dataset))
