"""Keras transfer: the whitening layer vs numpy, .keras round trip, the networks, the two
protocols, train/test."""
import dataclasses
import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from tfkip.errors import TfkipError
from tfkip.preprocess import PreprocessConfig, apply, fit
from tfkip.sources.dataset import LabeledImages
from tfkip.transfer import (PROTOCOLS, TransferConfig, ZCAWhitening, conv_net, mlp, protocol,
                            train_and_evaluate)
from tfkip.transfer.train import build_network, is_one_hot, softmax


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
    assert len(standard.seeds) == 5 and standard.init == 'torch'
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


def test_soft_xent_targets_are_the_label_vectors_softmax_at_the_temperature():
    labels = np.array([[1.5, -0.5, -1.0], [0.2, 0.1, -0.3]], np.float32)
    p = softmax(labels / 0.5)
    np.testing.assert_allclose(p, np.exp(2 * labels) / np.exp(2 * labels).sum(1, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(softmax(labels / 1e-3), np.eye(3)[[0, 0]], atol=1e-6)
    with pytest.raises(TfkipError, match='label_temperature'):
        TransferConfig(label_temperature=0.0)


def test_torch_init_draws_pytorchs_default_ranges():
    """PyTorch's Conv2d and Linear draw weights and biases from U(+-1/sqrt(fan_in)): std
    1/sqrt(3 fan_in). Keras's Glorot kernels (zero biases) differ at every layer here."""
    model = conv_net((16, 16, 3), 10, width=64, depth=2, normalization='instance',
                     init='torch', seed=3)
    kernels = [w for w in model.trainable_weights if w.path.endswith('kernel')]
    biases = [np.asarray(w) for w in model.trainable_weights if w.path.endswith('bias')
              and 'normalization' not in w.path]
    assert len(kernels) == len(biases) == 3
    for kernel, bias in zip(kernels, biases):
        kernel = np.asarray(kernel)
        bound = 1 / np.sqrt(np.prod(kernel.shape[:-1]))  # fan_in: all axes but the output
        assert np.abs(kernel).max() <= bound and np.abs(bias).max() <= bound
        np.testing.assert_allclose(kernel.std(), bound / np.sqrt(3), rtol=0.1)
        assert np.abs(bias).max() > bound / 10  # drawn, not zeros
    again = conv_net((16, 16, 3), 10, width=64, depth=2, normalization='instance',
                     init='torch', seed=3)
    np.testing.assert_array_equal(np.asarray(again.trainable_weights[0]), kernels[0])


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
    spread = train_and_evaluate(dataclasses.replace(config, seeds=(0,), loss='soft_xent'),
                                images[:20], soft[:20] * 3, images[20:], labels[20:])
    assert spread['loss'] == 'soft_xent' and spread['mean'] >= 0.9
    with pytest.raises(TfkipError, match='distilled images are \\(8, 8, 1\\), the test images '
                                         '\\(6, 6, 1\\)'):
        train_and_evaluate(config, images[:20], soft[:20], images[20:, :6, :6], labels[20:])
    with pytest.raises(TfkipError, match='2 classes, the test labels go up to 4'):
        train_and_evaluate(config, images[:20], soft[:20], images[20:], labels[20:] + 3)
    with pytest.raises(TfkipError, match="unknown loss 'hinge'"):
        TransferConfig(loss='hinge')


def _jax_weights_into(model, theta):
    """Copies a `tfkip.distill.convnet` parameter dict into the Keras ConvNet's layers."""
    blocks = iter(theta['blocks'])
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            block = next(blocks)
            layer.set_weights([np.asarray(block['w']), np.asarray(block['b'])])
        elif isinstance(layer, keras.layers.GroupNormalization):
            layer.set_weights([np.asarray(block['scale']), np.asarray(block['offset'])])
        elif isinstance(layer, keras.layers.Dense):
            layer.set_weights([np.asarray(theta['readout']['w']),
                               np.asarray(theta['readout']['b'])])


def _convnet_difference(apply_fn, shape=(12, 10, 3), width=6, depth=2):
    """max |JAX - Keras| of the two ConvNets' outputs from the same (non-trivial) weights."""
    import jax
    from tfkip.distill import convnet
    theta = convnet.init(jax.random.key(0), shape, 4, width=width, depth=depth)
    rng = np.random.default_rng(1)
    theta = jax.tree.map(lambda p: p + 0.3 * rng.normal(size=p.shape).astype(np.float32),
                         theta)  # scales and offsets away from 1 and 0
    model = conv_net(shape, 4, width=width, depth=depth, normalization='instance')
    _jax_weights_into(model, theta)
    x = rng.normal(size=(5,) + shape).astype(np.float32)
    return float(np.max(np.abs(np.asarray(apply_fn(theta, x)) - model(x).numpy())))


def test_distillation_convnet_equals_the_keras_convnet():
    from tfkip.distill import convnet
    assert _convnet_difference(convnet.apply) < 1e-4


def test_the_convnet_parity_check_catches_a_broken_copy():
    """A JAX copy with max pooling, or with the instance norm's epsilon changed, fails it."""
    import jax
    import jax.numpy as jnp
    from tfkip.distill import convnet

    def max_pooled(theta, x):
        for block in theta['blocks']:
            x = jax.lax.conv_general_dilated(x, block['w'], (1, 1), 'SAME',
                                             dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
            x = x + block['b']
            mean, var = jnp.mean(x, (1, 2), keepdims=True), jnp.var(x, (1, 2), keepdims=True)
            x = (x - mean) * jax.lax.rsqrt(var + 1e-5) * block['scale'] + block['offset']
            x = jax.lax.reduce_window(jax.nn.relu(x), -jnp.inf, jax.lax.max, (1, 2, 2, 1),
                                      (1, 2, 2, 1), 'VALID')
        x = x.reshape(x.shape[0], -1)
        return x @ theta['readout']['w'] + theta['readout']['b']
    assert _convnet_difference(max_pooled) > 1e-2
    original = convnet._EPSILON
    try:
        convnet._EPSILON = 1e-1
        assert _convnet_difference(convnet.apply) > 1e-3
    finally:
        convnet._EPSILON = original


ON_JAX = '''
import json, os, sys
os.environ['KERAS_BACKEND'] = 'jax'
sys.modules['tensorflow'] = None  # the JAX backend's path needs no TensorFlow
import keras
import numpy as np
from tfkip.transfer.augment import DSAugment
from tfkip.transfer.train import protocol, train_and_evaluate, train_network
rng = np.random.default_rng(0)
labels = np.arange(40) % 2
images = (rng.normal(size=(40, 8, 8, 1)) + 2.0 * (2 * labels - 1)[:, None, None, None]
          ).astype(np.float32)
soft = (np.eye(2)[labels] - 0.5).astype(np.float32)
result = train_and_evaluate(protocol('standard', width=8, depth=2, steps=40, seeds=(0,)),
                            images[:20], soft[:20], images[20:], labels[20:])
model = train_network(protocol('standard', width=8, depth=2, steps=40), images[:20], soft[:20],
                      seed=3)
np.savez(sys.argv[1], *model.get_weights(), logits=model.predict(images[20:], verbose=0))
layer = DSAugment(('crop', 'scale', 'rotate', 'cutout'), seed=0)
first, second = (np.asarray(layer(images[:4], training=True)) for _ in range(2))
print(json.dumps({'backend': keras.backend.backend(), 'mean': result['mean'],
                  'moved': bool(not np.allclose(first, images[:4])),
                  'redrawn': bool(not np.allclose(first, second)),
                  'eval_identity': bool(np.array_equal(layer(images[:4]), images[:4]))}))
'''


@pytest.mark.slow
def test_the_standard_protocol_runs_on_kerass_jax_backend(tmp_path):
    """The suite runs Keras on TensorFlow; here a process on JAX without TensorFlow trains
    the `standard` protocol (DSA included) and its DSA layer draws anew each training call;
    the weights it trains give the same logits in the TensorFlow backend's network (how a
    GPU's networks are tested on a CPU: benchmarks/device_networks.py)."""
    saved = tmp_path / 'weights.npz'
    done = subprocess.run([sys.executable, '-c', ON_JAX, saved], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    weights = np.load(saved)
    model = build_network(protocol('standard', width=8, depth=2), (8, 8, 1), 2, seed=3)
    model.set_weights([weights[f'arr_{i}'] for i in range(len(weights.files) - 1)])
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 2
    images = (rng.normal(size=(40, 8, 8, 1)) + 2.0 * (2 * labels - 1)[:, None, None, None])
    np.testing.assert_allclose(model.predict(images[20:].astype(np.float32), verbose=0),
                               weights['logits'], rtol=1e-4, atol=1e-4)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {'backend': 'jax', 'mean': found['mean'], 'moved': True, 'redrawn': True,
                     'eval_identity': True}
    assert found['mean'] >= 0.9
