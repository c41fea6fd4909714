"""The neural-tangents shim: it imports, its kernels are right, and it is the only door."""
import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tfkip._nt_compat import nt, stax

ROOT = pathlib.Path(__file__).resolve().parents[1]


def arccos_relu_fc(x1, x2, depth, w_std, b_std):
    """Closed-form NNGP and NTK of a ReLU FC net (Cho & Saul 2009; Jacot et al. 2018),
    written independently of neural-tangents, in float64."""
    d = x1.shape[1]
    cov12 = w_std**2 * (x1 @ x2.T) / d + b_std**2
    var1 = w_std**2 * np.sum(x1**2, 1) / d + b_std**2
    var2 = w_std**2 * np.sum(x2**2, 1) / d + b_std**2
    ntk = cov12.copy()
    for _ in range(depth):
        norms = np.sqrt(np.outer(var1, var2))
        cos = np.clip(cov12 / norms, -1, 1)
        theta = np.arccos(cos)
        e_relu = norms * (np.sin(theta) + (np.pi - theta) * cos) / (2 * np.pi)
        e_drelu = (np.pi - theta) / (2 * np.pi)
        cov12 = w_std**2 * e_relu + b_std**2
        ntk = cov12 + w_std**2 * e_drelu * ntk
        var1 = w_std**2 * var1 / 2 + b_std**2
        var2 = w_std**2 * var2 / 2 + b_std**2
    return cov12, ntk


@pytest.mark.parametrize('depth', [1, 2, 3])
@pytest.mark.parametrize('w_std,b_std', [(np.sqrt(2), 0.1), (1.3, 0.0), (0.8, 0.5)])
def test_fc_kernels_match_closed_form(depth, w_std, b_std):
    rng = np.random.default_rng(depth)
    x1, x2 = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    layers = [l for _ in range(depth) for l in (stax.Dense(64, w_std, b_std), stax.Relu())]
    _, _, kernel_fn = stax.serial(*layers, stax.Dense(1, w_std, b_std))
    kernels = kernel_fn(x1.astype(np.float32), x2.astype(np.float32), ('nngp', 'ntk'))
    nngp, ntk = arccos_relu_fc(x1, x2, depth, w_std, b_std)
    np.testing.assert_allclose(kernels.nngp, nngp, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(kernels.ntk, ntk, rtol=2e-5, atol=1e-6)


def test_version_is_the_pinned_release():
    assert nt.__version__ == '0.6.5'


def test_only_the_shim_imports_neural_tangents():
    offenders = []
    for path in ROOT.rglob('*.py'):
        # Hidden folders (virtual environments, the peers' PyTorch) and runs are not ours.
        parts = path.relative_to(ROOT).parts
        if any(p.startswith('.') or p == 'runs' for p in parts) or path.name == '_nt_compat.py':
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split('.')[0] == 'neural_tangents' for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f'import neural_tangents through tfkip._nt_compat: {offenders}'


def test_recreated_jax_util_keeps_its_contract():
    import sys
    util = sys.modules['jax.util']
    assert util.safe_map(lambda a, b: a + b, [1, 2], (3, 4)) == [4, 6]
    assert util.safe_zip('ab', [1, 2]) == [('a', 1), ('b', 2)]
    with pytest.raises(ValueError, match='length mismatch'):
        util.safe_zip([1], [1, 2])


def test_imports_and_computes_without_tensorflow():
    """The accelerator image has no TensorFlow: NT's analytic kernels must still import."""
    code = '''
import sys
sys.modules['tensorflow'] = sys.modules['tf2jax'] = None  # as if not installed
from tfkip._nt_compat import stax
import jax.numpy as jnp
_, _, kernel_fn = stax.serial(stax.Dense(8), stax.Relu(), stax.Dense(1))
print(float(kernel_fn(jnp.ones((1, 3)), jnp.ones((1, 3)), 'nngp')[0, 0]))
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) > 0
