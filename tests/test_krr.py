"""KRR and Label Solve against plain numpy on small problems."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tfkip.distill.krr import centered_one_hot, evaluate, krr_predict, regularized
from tfkip.distill.methods.ls.solve import label_solve
from tfkip.kernels.kernel import KernelConfig, make_kernel_fn


def numpy_krr(k_ts, k_ss, y_s, reg):
    n = len(k_ss)
    return k_ts @ np.linalg.solve(k_ss + reg * np.trace(k_ss) / n * np.eye(n), y_s)


def test_centered_one_hot():
    y = np.asarray(centered_one_hot(np.array([0, 2]), 4))
    np.testing.assert_allclose(y, [[0.75, -0.25, -0.25, -0.25], [-0.25, -0.25, 0.75, -0.25]])


@pytest.mark.parametrize('reg', [0.0, 1e-3, 1.0])
def test_krr_predict_matches_numpy(reg):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(3, 4))
    k_ss, k_ts, y_s = a @ a.T + np.eye(6), b @ a.T, rng.normal(size=(6, 2))
    with jax.enable_x64(True):
        got = krr_predict(jnp.asarray(k_ts), jnp.asarray(k_ss), jnp.asarray(y_s), reg)
    np.testing.assert_allclose(got, numpy_krr(k_ts, k_ss, y_s, reg), rtol=1e-10)


def test_ridge_scales_with_the_mean_eigenvalue():
    k = jnp.diag(jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(regularized(k, 0.5), np.diag([2.0, 4.0]))


def test_evaluate_gets_separable_data_right(train_data, test_data):
    config = KernelConfig('fc', depth=1)
    result = evaluate(make_kernel_fn(config, 3), config.initial_hparams(), train_data.images,
                      np.asarray(centered_one_hot(train_data.labels, 3)), test_data.images,
                      test_data.labels, reg=1e-6)
    assert result['accuracy'] == 1.0
    assert 0 < result['mse'] < 0.05


def test_evaluate_reports_a_singular_system():
    config = KernelConfig('fc', depth=1, b_std=0.0)
    x = np.ones((4, 2, 2, 1), np.float32)  # identical images: rank-one kernel
    with pytest.raises(FloatingPointError, match='raise reg'):
        evaluate(make_kernel_fn(config, 2), config.initial_hparams(), x,
                 np.asarray(centered_one_hot(np.array([0, 1, 0, 1]), 2)), x,
                 np.array([0, 1, 0, 1]), reg=0.0)


def test_label_solve_minimises_the_krr_loss(train_data):
    """Against an independent solve of min ||K_ts K_reg^-1 y_s - y_t|| by numpy lstsq."""
    config = KernelConfig('fc', depth=2)
    fn, hp = make_kernel_fn(config, 3), config.initial_hparams()
    support = train_data.images[::10]  # 6 images
    targets, labels = train_data.images, train_data.labels
    y_s = label_solve(fn, hp, support, targets, labels, num_classes=3, reg=1e-2, chunk_size=16)
    # The kernel matrices label_solve sees (jitted): in float32 the FC kernel's diagonal
    # differs between jitted and eager evaluation by ~1e-3 relative (the arc-cosine at
    # correlation 1), which is the kernel's precision, not the solve's.
    jitted = jax.jit(fn)
    k_ss = np.asarray(jitted(support, support, hp), np.float64)
    k_ts = np.asarray(jitted(targets, support, hp), np.float64)
    y_t = np.asarray(centered_one_hot(labels, 3), np.float64)
    k_reg = k_ss + 1e-2 * np.trace(k_ss) / len(k_ss) * np.eye(len(k_ss))
    design = k_ts @ np.linalg.inv(k_reg)
    expected = np.linalg.lstsq(design, y_t, rcond=None)[0]
    loss = lambda y: np.mean((design @ y - y_t) ** 2)
    np.testing.assert_allclose(loss(y_s), loss(expected), rtol=1e-4)
    assert loss(y_s) < loss(y_t[::10])  # better than the real support labels
