"""Keras transfer: the whitening layer vs numpy, .keras round trip, the ConvNet, train/test."""
import keras
import numpy as np
import pytest

from tfkip.errors import TfkipError
from tfkip.preprocess import PreprocessConfig, apply, fit
from tfkip.sources.dataset import LabeledImages
from tfkip.transfer import TransferConfig, ZCAWhitening, conv_net, train_and_evaluate


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


def test_train_and_evaluate_learns_a_separable_task_and_checks_inputs():
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 2
    images = (rng.normal(size=(40, 8, 8, 1)) + 2.0 * (2 * labels - 1)[:, None, None, None])
    soft = (np.eye(2)[labels] - 0.5).astype(np.float32)
    config = TransferConfig(width=8, depth=2, steps=40, learning_rate=1e-2, seeds=(0, 1))
    result = train_and_evaluate(config, images[:20].astype(np.float32), soft[:20],
                                images[20:].astype(np.float32), labels[20:])
    assert len(result['accuracies']) == 2 and result['mean'] >= 0.9
    with pytest.raises(TfkipError, match='distilled images are \\(8, 8, 1\\), the test images '
                                         '\\(6, 6, 1\\)'):
        train_and_evaluate(config, images[:20], soft[:20], images[20:, :6, :6], labels[20:])
    with pytest.raises(TfkipError, match='2 classes, the test labels go up to 4'):
        train_and_evaluate(config, images[:20], soft[:20], images[20:], labels[20:] + 3)
    with pytest.raises(TfkipError, match="loss must be one of"):
        TransferConfig(loss='hinge')
