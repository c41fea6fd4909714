"""TensorFlow for data only: imported lazily, quietly, with the GPU left to JAX.

TF and JAX in one process both reserve GPU memory; where tfkip only reads and writes data
with TF, TF is shown no GPU so JAX owns it. TF's C++ start-up notes (oneDNN, CPU features,
no CUDA driver, a failed cuInit on a CPU machine) go to the process's stderr before its
logging is set up, whatever TF_CPP_MIN_LOG_LEVEL says; they are filtered out of what TF
prints while it starts, and anything else it prints is passed on.
"""
import contextlib
import functools
import os
import re
import sys
import tempfile

_START_UP_NOTES = re.compile(
    r'WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR'
    r'|[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor|'
    r'cuda_diagnostics|dso_loader)\.cc:\d+\] '
    r'|To enable the following instructions: ')


@contextlib.contextmanager
def _start_up_notes_filtered():
    """Captures file descriptor 2 (where C++ writes) and passes on all but the notes."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors='replace').splitlines():
                if not _START_UP_NOTES.match(line):
                    print(line, file=sys.stderr)


@functools.lru_cache(maxsize=None)
def tf():
    """The `tensorflow` module, its GPUs hidden (a no-op once TF has started its runtime)."""
    with _start_up_notes_filtered():
        import tensorflow
        try:
            tensorflow.config.set_visible_devices([], 'GPU')
        except RuntimeError:  # TF already initialised its devices in this process
            pass
    return tensorflow


def gfile():
    """`tf.io.gfile`: one file API for local paths and cloud buckets."""
    return tf().io.gfile


def is_prepared(builder):
    """`builder.is_prepared()` (a TFDS builder), without the warning TFDS logs when the answer
    is no (its variant folder has no dataset_info.json): that is the case the caller handles."""
    from absl import logging
    level = logging.get_verbosity()
    logging.set_verbosity(logging.ERROR)
    try:
        return builder.is_prepared()
    finally:
        logging.set_verbosity(level)
