"""TensorFlow for data only: imported lazily, with the GPU left to JAX.

TF and JAX in one process both reserve GPU memory; where tfkip only reads and writes data
with TF, TF is shown no GPU so JAX owns it.
"""
import functools


@functools.lru_cache(maxsize=None)
def tf():
    """The `tensorflow` module, its GPUs hidden (a no-op once TF has started its runtime)."""
    import tensorflow
    try:
        tensorflow.config.set_visible_devices([], 'GPU')
    except RuntimeError:  # TF already initialised its devices in this process
        pass
    return tensorflow


def gfile():
    """`tf.io.gfile`: one file API for local paths and cloud buckets."""
    return tf().io.gfile
