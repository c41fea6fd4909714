"""The test session's XLA cache: both xdist workers and the processes tests start (`tfkip
run`, killed and rerun) compile many of the same JAX programs, so a persistent compilation
cache, new for each session and removed after it, compiles each once. It changes the
suite's time, not what it runs."""
import os
import shutil
import sys
import tempfile

CACHE = 'JAX_COMPILATION_CACHE_DIR'


def pytest_configure(config):
    if CACHE in os.environ:  # an xdist worker (its controller's cache) or the caller's own
        return
    config.xla_cache = tempfile.mkdtemp(prefix='tfkip-test-xla-cache-')
    os.environ[CACHE] = config.xla_cache  # workers and subprocesses inherit it
    os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0.2')
    if 'jax' in sys.modules:  # imported by a conftest already: it read the environment then
        import jax
        jax.config.update('jax_compilation_cache_dir', config.xla_cache)
        jax.config.update('jax_persistent_cache_min_compile_time_secs',
                          float(os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS']))


def pytest_unconfigure(config):
    if getattr(config, 'xla_cache', None):
        shutil.rmtree(config.xla_cache, ignore_errors=True)
