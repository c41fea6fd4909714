"""Process-level settings, applied by the entry points (CLI, benchmarks) only: XLA's on the
CPU, and TensorFlow's logging.

XLA's CPU "concurrency-optimized" scheduler runs independent parts of one program at
the same time; on a 2-core machine the parts then fight over the cores, and a KIP step
(the support kernel K_ss and the target kernel K_ts are independent) runs 1.3-1.6x
slower than with plain sequential scheduling (measured with jax 0.10.2).

JAX's CPU linear algebra (the Cholesky factor and triangular solves of every KRR step)
calls LAPACK in SciPy's OpenBLAS, whose worker threads keep spinning after each call and
so take the cores from XLA's own thread pool: one OpenBLAS thread makes a KIP-FC step
(500 support images, 1,000 targets) about 1.6x faster on 2 cores
(BENCHMARKS.md, "OpenBLAS on one thread"); the solves it runs alone are the small part of a step.

XLA reads XLA_FLAGS when its CPU backend starts and OpenBLAS its thread count when it is
loaded, so this must run before the first computation and before SciPy is imported.
"""
import logging
import os

_CPU_FLAGS = ('--xla_cpu_enable_concurrency_optimized_scheduler=false',)
_ENV_DEFAULTS = {'OPENBLAS_NUM_THREADS': '1'}


def configure_xla_cpu():
    """Adds the flags above to XLA_FLAGS and sets OPENBLAS_NUM_THREADS, leaving any
    setting the user made themselves alone."""
    flags = os.environ.get('XLA_FLAGS', '')
    for flag in _CPU_FLAGS:
        if flag.split('=')[0] not in flags:
            flags = f'{flags} {flag}'.strip()
    os.environ['XLA_FLAGS'] = flags
    for name, value in _ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)


def quiet_tensorflow():
    """Turns off TensorFlow's C++ start-up logging (a level the user set wins) and Keras's
    warning of tf.function retracing, given once per model where the entry points build one
    per seed: both would bury the progress bars."""
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    logging.getLogger('tensorflow').setLevel(logging.ERROR)
