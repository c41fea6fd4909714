"""DSA: the JAX transformations of the distillation losses and the Keras layer of the
evaluation, against what each transformation must do."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tfkip import augment
from tfkip.augment import dsa, transforms
from tfkip.errors import TfkipError


def images(n=6, size=16, channels=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, size, size, channels)).astype(np.float32)


def draws(n, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, transforms.MAX_DRAWS)).astype(
        np.float32)


def jax_group(op, x, seed=0):
    return np.asarray(transforms.apply(op, jnp.asarray(x), jnp.asarray(draws(len(x), seed)), jnp))


def test_check_ops():
    assert augment.check_ops('color, crop') == ('color', 'crop')
    assert augment.check_ops(['flip']) == ('flip',)
    with pytest.raises(TfkipError, match="--augmentation: unknown augmentation 'mixup'"):
        augment.check_ops(['crop', 'mixup'], '--augmentation')
    with pytest.raises(TfkipError, match='names an augmentation twice'):
        augment.check_ops(['crop', 'crop'])


@pytest.mark.parametrize('op', augment.OPS)
def test_each_transformation_is_random_keyed_and_differentiable(op):
    x = images()
    fn = jax.jit(dsa.make_augment((op,)))
    a, b = fn(x, jax.random.key(0)), fn(x, jax.random.key(0))
    assert a.shape == x.shape and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)  # the key decides every draw
    draws = [np.asarray(fn(x, jax.random.key(k))) for k in range(4)]
    assert any(not np.allclose(d, draws[0]) for d in draws[1:])
    grad = jax.grad(lambda x: jnp.sum(fn(x, jax.random.key(1)) ** 2))(x)
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0


@pytest.mark.parametrize('op', augment.OPS)
def test_siamese_groups_share_one_draw_across_calls_with_the_same_key(op):
    """Given groups, each group's images take one draw, the same in another call with the
    same key (DM's real and synthetic images of a class); other groups draw their own."""
    x = images(n=1)
    fn = jax.jit(dsa.make_augment((op,)))
    real = np.repeat(x, 4, 0)  # 4 copies: 2 of group 0, 2 of group 1
    groups = jnp.asarray(np.eye(2)[[0, 0, 1, 1]])
    out = [np.asarray(fn(real, jax.random.key(k), groups)) for k in range(6)]
    synthetic = np.asarray(fn(x, jax.random.key(0), jnp.asarray(np.eye(2)[[1]])))
    for o in out:
        np.testing.assert_array_equal(o[0], o[1])
        np.testing.assert_array_equal(o[2], o[3])
    np.testing.assert_array_equal(synthetic[0], out[0][2])
    assert any(not np.array_equal(o[0], o[2]) for o in out)


def test_flip_mirrors_some_images_and_leaves_the_others():
    x = images(n=32)
    out = jax_group('flip', x, 3)
    mirrored = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
    same = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(m or s for m, s in zip(mirrored, same)) and any(mirrored) and any(same)


def test_crop_translates_by_at_most_an_eighth_with_zeros():
    x = images(n=8, size=16) + 10.0  # no pixel is 0 before the shift
    out = jax_group('crop', x, 2)
    for o, i in zip(out, x):
        found = False
        for dr in range(-2, 3):
            for dc in range(-2, 3):
                shifted = np.zeros_like(i)
                shifted[max(dr, 0):16 + min(dr, 0), max(dc, 0):16 + min(dc, 0)] = \
                    i[max(-dr, 0):16 - max(dr, 0), max(-dc, 0):16 - max(dc, 0)]
                found |= np.allclose(o, shifted)
        assert found


def test_cutout_zeros_one_square_of_half_the_side_at_most():
    x = np.ones((16, 16, 16, 1), np.float32)
    out = jax_group('cutout', x, 4)[..., 0]
    for o in out:
        rows, cols = np.nonzero(o == 0)
        assert 0 < len(rows) <= 64
        # One axis-aligned rectangle: its bounding box is all zeros.
        assert len(rows) == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
    assert max(np.sum(o == 0) for o in out) == 64  # a square that is not clipped


def test_color_keeps_the_image_mean_shift_within_the_brightness_range():
    x = images(n=20)
    out = jax_group('color', x, 5)
    shift = out.mean(axis=(1, 2, 3)) - x.mean(axis=(1, 2, 3))
    assert np.all(np.abs(shift) <= augment.BRIGHTNESS / 2 + 1e-5)


def test_scale_and_rotate_keep_the_centre_of_a_constant_image():
    x = np.ones((4, 17, 17, 1), np.float32)
    for op in ('scale', 'rotate'):
        out = jax_group(op, x, 6)
        np.testing.assert_allclose(out[:, 8, 8, 0], 1.0, atol=1e-5)


def test_no_ops_is_the_identity():
    x = images()
    np.testing.assert_array_equal(dsa.make_augment(())(x, jax.random.key(0)), x)


def test_keras_layer_is_active_in_training_only_and_survives_saving(tmp_path):
    import keras
    from tfkip.transfer.augment import DSAugment
    x = images(n=8, size=8)
    layer = DSAugment(('flip',), seed=0)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    out = np.asarray(layer(x, training=True))
    assert all(np.array_equal(o, i) or np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x))
    for op in augment.OPS:
        out = np.asarray(DSAugment((op,), seed=1)(x, training=True))
        assert out.shape == x.shape and np.all(np.isfinite(out))
    model = keras.Sequential([keras.Input((8, 8, 3)), DSAugment(augment.NO_FLIP, seed=2),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    model.save(tmp_path / 'm.keras')
    reloaded = keras.models.load_model(tmp_path / 'm.keras')
    assert reloaded.layers[0].ops == augment.NO_FLIP
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_keras_cutout_zeros_one_square():
    from tfkip.transfer.augment import DSAugment
    out = np.asarray(DSAugment(('cutout',), seed=0)(np.ones((16, 16, 16, 1), np.float32),
                                                    training=True))[..., 0]
    for o in out:
        rows, cols = np.nonzero(o == 0)
        assert 0 < len(rows) <= 64 and len(rows) == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)


def _keras_group(op, x, u):
    from tfkip.transfer.augment import DSAugment
    return np.asarray(DSAugment.transform(op, x, u))


def _largest_difference(keras_group=_keras_group):
    """{group: max |JAX - Keras|} over odd-sized, non-square images, the same draws."""
    x = images(n=8, size=16)[:, :13, :, :]
    u = draws(len(x), seed=7)
    return {op: float(np.max(np.abs(np.asarray(transforms.apply(op, jnp.asarray(x),
                                                                   jnp.asarray(u), jnp))
                                        - keras_group(op, x, u))))
            for op in augment.OPS}


def test_jax_and_keras_give_the_same_images_for_the_same_draws():
    assert max(_largest_difference().values()) < 1e-5, _largest_difference()


def test_the_parity_check_catches_a_broken_keras_copy():
    """The check above fails for a Keras copy that departs from the formulas, here one that
    flips every image (ignoring FLIP) and crops by a fraction instead of whole pixels."""
    from keras import ops

    def broken(op, x, u):
        if op == 'flip':
            return np.asarray(ops.flip(x, axis=2))
        if op == 'crop':  # a translation by any fraction of a pixel up to CROP
            h, w = x.shape[1:3]
            shift = (2 * u[:, :2] - 1) * np.array([h, w]) * augment.CROP
            rows = np.arange(h)[None, :, None] - shift[:, 0, None, None]
            cols = np.arange(w)[None, None, :] - shift[:, 1, None, None]
            return np.asarray(transforms.sample(x, rows.astype(np.float32),
                                                cols.astype(np.float32), ops))
        return _keras_group(op, x, u)
    found = _largest_difference(broken)
    assert found['flip'] > 0.1 and found['crop'] > 0.1
    assert max(v for op, v in found.items() if op not in ('flip', 'crop')) < 1e-5


def test_the_layer_draws_what_make_augment_draws():
    """Both backends draw each group's parameters from the same ranges: over many draws the
    Keras layer's and the JAX function's images agree in their statistics."""
    from tfkip.transfer.augment import DSAugment
    x = np.ones((400, 16, 16, 1), np.float32)
    for op in ('crop', 'cutout', 'flip', 'scale', 'rotate'):
        keras_out = np.asarray(DSAugment((op,), seed=3)(x, training=True))
        jax_out = np.asarray(dsa.make_augment((op,))(jnp.asarray(x), jax.random.key(3)))
        np.testing.assert_allclose(keras_out.mean(), jax_out.mean(), atol=0.03)
