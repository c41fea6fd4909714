"""Keras transfer: the whitening layer vs numpy, .keras round trip, the networks, the two
protocols, train/test."""
import dataclasses

import keras
import numpy as np
import pytest

from tfkip.errors import TfkipError
from tfkip.preprocess import PreprocessConfig, apply, fit
from tfkip.sources.dataset import LabeledImages
from tfkip.transfer import (PROTOCOLS, TransferConfig, ZCAWhitening, conv_net, mlp, protocol,
                            train_and_evaluate)
from tfkip.transfer.train import is_one_hot


def real_images(n=60, shape=(6, 6, 2), seed=0):
    rng = np.random.default_rng(seed)
    return LabeledImages(rng.uniform(0, 255, (n,) + shape), np.arange(n) % 2, ('a', 'b'))


@pytest.mark.parametrize('config', [PreprocessConfig(zca_reg=0.1),
                                    PreprocessConfig(per_image_norm=True, zca_reg=0.3),
                                    PreprocessConfig(zca=False)])
def test_layer_equals_numpy_preprocessing_and_survives_keras_saving(config, tmp_path):
    data = real_images()
    stats = fit(config, data)
    layer = ZCAWhitening.from_stats(stats)
    test = real_images(5, seed=1).images
    np.testing.assert_allclose(np.asarray(layer(test)), apply(stats, test), rtol=1e-4, atol=1e-4)

    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, keras.layers.Flatten()(layer(inputs)))
    model.save(tmp_path / 'm.keras')
    reloaded = keras.models.load_model(tmp_path / 'm.keras')
    np.testing.assert_allclose(reloaded.predict(test, verbose=0), model.predict(test, verbose=0),
                               rtol=1e-6)


def test_conv_net_shapes_and_errors():
    for normalization in ('none', 'instance', 'batch'):
        model = conv_net((8, 8, 3), 5, width=4, depth=2, normalization=normalization,
                         prepend_conv=True)
        assert model.output_shape == (None, 5)
    with pytest.raises(TfkipError, match='normalization must be one of'):
        conv_net((8, 8, 3), 5, normalization='layer')
    with pytest.raises(TfkipError, match='too small for 3 2x2 pooling blocks'):
        conv_net((4, 4, 1), 2, depth=3)


def test_the_protocols_are_the_documented_ones():
    standard = protocol('standard')
    assert (standard.width, standard.depth, standard.normalization, standard.pooling) == \
        (128, 3, 'instance', 'avg')
    assert (standard.optimizer, standard.learning_rate, standard.momentum,
            standard.weight_decay, standard.schedule) == ('sgd', 0.01, 0.9, 5e-4, 'step')
    assert (standard.epochs, standard.steps, standard.batch_size, standard.loss) == \
        (1000, None, 256, 'auto')
    assert set(standard.augmentation) == {'color', 'crop', 'cutout', 'flip', 'scale', 'rotate'}
    assert len(standard.seeds) == 5 and standard.init == 'keras'
    kip = protocol('kip')
    assert (kip.normalization, kip.init, kip.loss, kip.schedule, kip.weight_decay) == \
        ('none', 'kernel', 'mse', 'cosine', 1e-3)
    assert (kip.steps, kip.batch_size, kip.augmentation, kip.momentum) == (5000, 100, (), 0.9)
    assert set(PROTOCOLS) == {'standard', 'kip'}
    assert dataclasses.replace(kip, steps=None, epochs=3).total_steps(250) == 3 * 3
    assert standard.total_steps(500) == 1000 * 2  # batches of 256 and 244
    assert standard.network('fc') == 'mlp' and standard.network('convnet') == 'convnet'
    assert protocol('standard', model='convnet').network('fc') == 'convnet'
    with pytest.raises(TfkipError, match="unknown transfer protocol 'dc'"):
        protocol('dc')
    with pytest.raises(TfkipError, match='unknown augmentation'):
        protocol('standard', augmentation=('mixup',))


def test_one_hot_labels_are_told_from_learned_ones():
    one_hot = np.eye(3, dtype=np.float32)[[0, 2, 1]]
    assert is_one_hot(one_hot) and is_one_hot(one_hot - 1 / 3)
    assert not is_one_hot(one_hot * 1.5 - 0.2 + 0.01 * np.arange(3))


def test_weight_decay_is_an_l2_penalty_on_every_weight():
    model = conv_net((8, 8, 1), 3, width=4, depth=1, normalization='instance',
                     weight_decay=0.1, init='keras')
    penalty = sum(float(np.asarray(loss)) for loss in model.losses)
    expected = 0.05 * sum(float(np.sum(np.asarray(w) ** 2)) for w in model.trainable_weights)
    np.testing.assert_allclose(penalty, expected, rtol=1e-5)
    assert mlp((8, 8, 1), 3, width=5, depth=2).output_shape == (None, 3)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['standard', 'kip'])
def test_train_and_evaluate_learns_a_separable_task_and_checks_inputs(name):
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 2
    images = (rng.normal(size=(40, 8, 8, 1)) + 2.0 * (2 * labels - 1)[:, None, None, None])
    soft = (np.eye(2)[labels] - 0.5).astype(np.float32)
    config = protocol(name, width=8, depth=2, steps=40, seeds=(0, 1), augmentation=('crop',))
    result = train_and_evaluate(config, images[:20].astype(np.float32), soft[:20],
                                images[20:].astype(np.float32), labels[20:])
    assert len(result['accuracies']) == 2 and result['mean'] >= 0.9
    assert (result['protocol'], result['network'], result['steps']) == (name, 'convnet', 40)
    assert result['loss'] == ('xent' if name == 'standard' else 'mse')
    learned = train_and_evaluate(dataclasses.replace(config, seeds=(0,)), images[:20], soft[:20]
                                 * 3, images[20:], labels[20:], architecture='fc')
    assert learned['loss'] == 'mse'
    assert learned['network'] == 'mlp'
    with pytest.raises(TfkipError, match='distilled images are \\(8, 8, 1\\), the test images '
                                         '\\(6, 6, 1\\)'):
        train_and_evaluate(config, images[:20], soft[:20], images[20:, :6, :6], labels[20:])
    with pytest.raises(TfkipError, match='2 classes, the test labels go up to 4'):
        train_and_evaluate(config, images[:20], soft[:20], images[20:], labels[20:] + 3)
    with pytest.raises(TfkipError, match="loss must be one of"):
        TransferConfig(loss='hinge')
