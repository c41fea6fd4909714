"""Distribution matching: the loss, its zero, and the loop."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tfkip.distill import convnet
from tfkip.distill.methods.dm.step import channel_covariances, class_means, dm, dm_loss
from tfkip.distill.krr import centered_one_hot
from tfkip.distill.methods.dm import DMOptions
from tfkip.distill.train import DistillConfig
from tfkip.errors import TfkipError
from tfkip.kernels.kernel import KernelConfig

from conftest import run_distill, run_resumed

DM = DistillConfig(KernelConfig('convnet', depth=1), method='dm', images_per_class=2, steps=8,
                   learning_rate=0.05, target_batch_size=30, learn_labels=False,
                   options=DMOptions(dm_width=8, dm_depth=1), eval_every=0,
                   checkpoint_every=2, log_every=1)


def test_the_loss_is_zero_when_the_set_is_the_real_class_means_under_a_linear_map(train_data):
    w = jax.random.normal(jax.random.key(0), (64, 5))
    embed = lambda x: x.reshape(len(x), -1) @ w
    y = centered_one_hot(train_data.labels, 3)
    means = np.stack([train_data.images[train_data.labels == c].mean(0) for c in range(3)])
    support_labels = centered_one_hot(np.arange(3), 3)
    weights = jnp.ones(len(y))
    loss, metrics = dm_loss(means, support_labels, train_data.images, y, weights, embed)
    assert float(loss) == pytest.approx(0., abs=1e-6)
    # Moved off the means, the loss is the summed squared distance of the embedded means.
    shifted = means + 0.1
    loss, _ = dm_loss(shifted, support_labels, train_data.images, y, weights, embed)
    expected = np.sum((embed(jnp.asarray(shifted)) - embed(jnp.asarray(means))) ** 2)
    np.testing.assert_allclose(loss, expected, rtol=1e-4)
    assert float(metrics['accuracy']) == 1.0  # well-separated classes, nearest mean


def test_the_cross_entropy_term_is_weighted_by_the_networks_accuracy_on_the_targets(
        train_data):
    """IDM's term: ce_weight x (the network's target accuracy) x the summed per-class mean
    cross-entropy of the support; a network right on no target adds nothing."""
    w = jax.random.normal(jax.random.key(0), (64, 5))
    embed = lambda x: x.reshape(len(x), -1) @ w
    y = centered_one_hot(train_data.labels, 3)
    support = train_data.images[[0, 1, 2, 3]]
    support_labels = centered_one_hot(np.array([0, 0, 0, 1]), 3)  # 3 of class 0, 1 of class 1
    weights = jnp.ones(len(y))
    readout_w = 0.05 * jax.random.normal(jax.random.key(1), (5, 3))
    readout = lambda f: f @ readout_w
    base, _ = dm_loss(support, support_labels, train_data.images, y, weights, embed)
    loss, _ = dm_loss(support, support_labels, train_data.images, y, weights, embed,
                      readout=readout, ce_weight=0.5)
    accuracy = np.mean(np.argmax(readout(embed(train_data.images)), -1) == train_data.labels)
    log_p = jax.nn.log_softmax(readout(embed(support)))
    ce = -np.asarray(log_p)[np.arange(4), [0, 0, 0, 1]]
    assert 0 < accuracy < 1
    np.testing.assert_allclose(loss, base + 0.5 * accuracy * (ce[:3].mean() + ce[3]),
                               rtol=1e-5)
    # Always class 2, on targets of classes 0 and 1 only: right on none of them.
    always_2 = lambda f: jnp.zeros((len(f), 3)).at[:, 2].set(1.)
    weights = jnp.asarray(train_data.labels != 2, jnp.float32)
    base, _ = dm_loss(support, support_labels, train_data.images, y, weights, embed)
    loss, _ = dm_loss(support, support_labels, train_data.images, y, weights, embed,
                      readout=always_2, ce_weight=0.5)
    np.testing.assert_allclose(loss, base, rtol=1e-6)


def test_the_covariance_term_is_the_squared_distance_of_each_classs_channel_covariances(
        train_data):
    """IID's term: per class, the covariance of the channels over images and positions
    (features [N, positions x channels], channels last), real against support, padding and
    absent classes left out."""
    w = jax.random.normal(jax.random.key(0), (64, 12))  # 4 positions x 3 channels
    embed = lambda x: jnp.tanh(x.reshape(len(x), -1) @ w)
    y = centered_one_hot(train_data.labels, 3)
    support = train_data.images[[0, 1, 2, 3, 4]]
    labels = np.array([0, 0, 0, 1, 1])
    support_labels = centered_one_hot(labels, 3)
    weights = jnp.asarray(train_data.labels != 2, jnp.float32)  # class 2 absent
    base, _ = dm_loss(support, support_labels, train_data.images, y, weights, embed)
    loss, _ = dm_loss(support, support_labels, train_data.images, y, weights, embed,
                      cov_weight=0.3, channels=3)

    def covariance(images):
        local = np.asarray(embed(jnp.asarray(images))).reshape(len(images), 4, 3)
        centred = local - local.mean(0)
        return np.einsum('npc,npd->cd', centred, centred) / len(images)

    expected = sum(np.sum((covariance(train_data.images[train_data.labels == c])
                           - covariance(support[labels == c])) ** 2) for c in (0, 1))
    assert expected > 0
    np.testing.assert_allclose(loss, base + 0.3 * expected, rtol=1e-4)
    # A class's covariances under one embedding: zero spread, zero covariance.
    features = jnp.ones((4, 12))
    one_hot = jnp.eye(2)[jnp.array([0, 0, 1, 1])]
    means, counts = class_means(features, one_hot)
    np.testing.assert_allclose(channel_covariances(features, one_hot, means, counts, 3), 0.,
                               atol=1e-6)


def test_class_means_ignore_padding_and_absent_classes():
    features = jnp.array([[1., 0.], [3., 0.], [0., 5.], [9., 9.]])
    one_hot = jnp.array([[1., 0., 0.], [1., 0., 0.], [0., 1., 0.], [0., 1., 0.]])
    means, counts = class_means(features, one_hot, jnp.array([1., 1., 1., 0.]))
    np.testing.assert_allclose(means, [[2., 0.], [0., 5.], [0., 0.]])
    np.testing.assert_allclose(counts, [2., 1., 0.])


@pytest.mark.slow
def test_dm_lowers_its_loss_keeps_one_hot_labels_and_resumes_exactly(train_data, test_data,
                                                                     tmp_path):
    config = dataclasses.replace(DM, augmentation=('color', 'crop'))
    result = run_distill(dataclasses.replace(config, steps=20), train_data, eval_data=test_data)
    losses = [r['loss'] for r in result.metadata.losses]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    np.testing.assert_array_equal(result.labels,
                                  centered_one_hot(np.repeat(np.arange(3), 2), 3))
    assert result.metadata.metrics['accuracy'] > 0.5
    whole = run_distill(config, train_data)
    resumed = run_resumed(config, train_data, tmp_path, stop=4)
    np.testing.assert_array_equal(resumed.images, whole.images)


def test_the_queue_networks_train_on_the_real_targets_and_are_reset(train_data):
    """IDM's queue: the drawn network matches, then takes one SGD step on the real targets
    (its cross-entropy there falls), and after `queue_reset` steps it is a fresh one."""
    network = convnet.Network(8, 1, 'instance', 2 ** 0.5, 0.1)
    pair = dm(network, 3, (8, 8, 1), learning_rate=0.05, queue=1, queue_reset=3, queue_lr=0.1)
    x_t, y_t = train_data.images[::2], centered_one_hot(train_data.labels[::2], 3)
    start = {'images': train_data.images[:6], 'labels': y_t[:6]}
    real_loss = lambda s: float(jnp.mean(-jax.nn.log_softmax(convnet.apply(
        jax.tree.map(lambda a: a[0], s.pool['theta']), x_t))[np.arange(len(x_t)),
                                                            train_data.labels[::2]]))
    update = jax.jit(pair.update)
    state = pair.init(start)
    ages, losses = [], [real_loss(state)]
    for _ in range(4):
        state, metrics = update(state, x_t, y_t)
        ages.append(int(state.pool['age'][0]))
        losses.append(real_loss(state))
    assert ages == [1, 2, 0, 1]
    assert losses[2] < losses[1] < losses[0]  # two SGD steps on the real targets
    assert losses[3] > losses[2]  # then a fresh network
    assert not np.allclose(state.params['images'], start['images'])  # the set moved too


def test_a_queue_batch_trains_the_network_on_an_even_subset_of_the_targets(train_data):
    """With queue_batch, the drawn network's SGD step sees every stride-th target: the same
    network as a step on that subset with no queue_batch (the matching does not touch it)."""
    network = convnet.Network(8, 1, 'instance', 2 ** 0.5, 0.1)
    x_t, y_t = train_data.images[:24], centered_one_hot(train_data.labels[:24], 3)
    start = {'images': train_data.images[:6], 'labels': y_t[:6]}
    theta = lambda queue_batch, x, y: (lambda pair: pair.update(pair.init(start), x, y)[0])(
        dm(network, 3, (8, 8, 1), learning_rate=0.05, queue=2, queue_batch=queue_batch)
    ).pool['theta']
    subset = theta(0, x_t[::3], y_t[::3])
    jax.tree.map(np.testing.assert_array_equal, theta(8, x_t, y_t), subset)
    assert not np.allclose(theta(0, x_t, y_t)['readout']['w'], subset['readout']['w'])


def test_siamese_augmentation_transforms_a_class_alike_in_the_set_and_the_targets(
        train_data):
    """Each class's targets all equal to its support image: with Siamese DSA (one draw per
    class, the same for both) the class means match exactly whatever the draw; with draws
    of their own they do not."""
    from tfkip.augment.dsa import make_augment
    network = convnet.Network(8, 1, 'instance', 2 ** 0.5, 0.1)
    support = train_data.images[[0, 1, 2]]
    start = {'images': support, 'labels': centered_one_hot(np.arange(3), 3)}
    classes = np.repeat(np.arange(3), 4)
    x_t, y_t = support[classes], centered_one_hot(classes, 3)
    augment = make_augment(('crop', 'scale', 'rotate', 'color', 'cutout'))
    loss = lambda siamese: float(dm(network, 3, (8, 8, 1), learning_rate=0.05, augment=augment,
                                    siamese=siamese).update(dm(
        network, 3, (8, 8, 1), learning_rate=0.05).init(start), x_t, y_t)[1]['loss'])
    assert loss(True) == pytest.approx(0., abs=1e-8)
    assert loss(False) > 1e-3


def test_dm_with_a_queue_resumes_exactly(train_data, tmp_path):
    config = dataclasses.replace(DM, options=DMOptions(dm_width=8, dm_depth=1, dm_queue=2,
                                                       dm_queue_reset=3))
    whole = run_distill(config, train_data)
    resumed = run_resumed(config, train_data, tmp_path, stop=4)
    np.testing.assert_array_equal(resumed.images, whole.images)


def test_dm_refuses_what_it_cannot_do():
    with pytest.raises(TfkipError, match='drop --learn-labels'):
        dataclasses.replace(DM, learn_labels=True)
    with pytest.raises(TfkipError, match='--final-label-solve'):
        dataclasses.replace(DM, final_label_solve=True)
    # Chosen without saying, its labels are fixed (the method's own default).
    assert not DistillConfig.from_options({'method': 'dm'}).learn_labels
    with pytest.raises(TfkipError, match='drop --learn-labels'):
        DistillConfig.from_options({'method': 'dm', 'learn_labels': True})
    with pytest.raises(TfkipError, match='dm_width'):
        DMOptions(dm_width=0)
    with pytest.raises(TfkipError, match='dm_queue_lr'):
        DMOptions(dm_queue_lr=0.0)
    with pytest.raises(TfkipError, match='dm_queue_batch'):
        DMOptions(dm_queue_batch=-1)
    with pytest.raises(TfkipError, match='dm_ce_weight'):
        DMOptions(dm_ce_weight=-0.5)
    with pytest.raises(TfkipError, match='dm_cov_weight'):
        DMOptions(dm_cov_weight=-0.01)
    with pytest.raises(TfkipError, match='dm_siamese'):
        DMOptions(dm_siamese='yes')


@pytest.mark.parametrize('queue', [0, 2])
def test_sgd_moves_the_images_along_the_gradient_as_adam_does_not(train_data, queue):
    """--dm-optimizer sgd reaches both of DM's pairs: SGD's first step is -lr x the gradient
    (in proportion to lr, and as uneven as the gradient); Adam's is about lr x its sign."""
    from tfkip.distill import optimizer
    assert set(optimizer.RULES) == set(
        DMOptions.__dataclass_fields__['dm_optimizer'].metadata['choices'])
    network = convnet.Network(8, 1, 'instance', 2 ** 0.5, 0.1)
    x_t, y_t = train_data.images[:24], centered_one_hot(train_data.labels[:24], 3)
    start = {'images': train_data.images[:6], 'labels': y_t[:6]}

    def moved(rule, learning_rate):
        pair = dm(network, 3, (8, 8, 1), learning_rate=learning_rate, queue=queue, rule=rule)
        state, _ = jax.jit(pair.update)(pair.init(start), x_t, y_t)
        np.testing.assert_array_equal(state.params['labels'], start['labels'])  # frozen
        return np.abs(np.asarray(state.params['images'] - start['images']))

    sgd = moved('sgd', 1.0)
    np.testing.assert_allclose(moved('sgd', 0.2), 0.2 * sgd, rtol=1e-4, atol=1e-7)
    assert sgd.max() > 3 * np.median(sgd)
    np.testing.assert_allclose(moved('adam', 0.2), 0.2, rtol=1e-3)


def test_an_unknown_image_optimizer_is_a_clear_error():
    with pytest.raises(TfkipError, match="unknown dm_optimizer 'lamb'; choose one of"):
        DMOptions(dm_optimizer='lamb')


def test_torch_init_draws_pytorchs_ranges_and_builds_dms_networks(monkeypatch):
    """--dm-init torch: every weight and bias in U(+-1/sqrt(fan_in)), std 1/sqrt(3 fan_in)
    (the 'kernel' draws are sqrt(6) times wider), and DM's networks are built so."""
    assert set(convnet.INITS) == set(DMOptions.__dataclass_fields__['dm_init'].metadata['choices'])
    theta = convnet.init(jax.random.key(0), (8, 8, 3), 5, width=32, depth=2, scheme='torch')
    for layer, fan_in in ((theta['blocks'][0], 27), (theta['blocks'][1], 288),
                          (theta['readout'], 32 * 2 * 2)):
        for p in (layer['w'], layer['b']):
            assert np.abs(np.asarray(p)).max() <= 1 / np.sqrt(fan_in)
        np.testing.assert_allclose(np.std(np.asarray(layer['w'])), 1 / np.sqrt(3 * fan_in),
                                   rtol=0.15)
    with pytest.raises(ValueError, match='scheme must be one of'):
        convnet.init(jax.random.key(0), (8, 8, 3), 5, scheme='glorot')
    from tfkip.distill.methods import REGISTRY
    from tfkip.distill.methods.dm import step
    built = []
    monkeypatch.setattr(step, 'dm', lambda network, *args, **kwargs: built.append(network))
    config = dataclasses.replace(DM, options=DMOptions(dm_width=8, dm_depth=1, dm_init='torch'))
    REGISTRY['dm'].pair(config, 3, (8, 8, 1), None)
    assert built[0].scheme == 'torch'
    with pytest.raises(TfkipError, match='dm_init'):
        DMOptions(dm_init='glorot')
