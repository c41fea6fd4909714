"""Checkpoints of any JAX state pytree: `<dir>/checkpoint.npz` + `<dir>/checkpoint.json`.

The `.npz` holds the pytree's leaves in order; the structure comes from a template
state built from the same config, so restoring checks that the config matches (a
fingerprint in the JSON) and that every leaf has the template's shape. Both files are
written atomically, the JSON last, so a checkpoint is either whole or absent.
"""
import json
import os

import jax
import numpy as np

from tfkip._io import atomic_path, write_text
from tfkip.errors import TfkipError

NPZ = 'checkpoint.npz'
JSON = 'checkpoint.json'


def save(directory, state, metadata):
    """Writes `state` (a pytree) and `metadata` (a JSON-serialisable dict)."""
    leaves = [np.asarray(leaf) for leaf in jax.tree.leaves(state)]
    with atomic_path(os.path.join(directory, NPZ)) as tmp:
        with open(tmp, 'wb') as f:
            np.savez(f, *leaves)
    write_text(os.path.join(directory, JSON),
               json.dumps(dict(metadata, num_leaves=len(leaves)), indent=2, sort_keys=True))


def restore(directory, template, fingerprint):
    """(state, metadata) from `directory`, or None if it holds no checkpoint.

    Args:
      directory: where `save` wrote.
      template: a state of the same structure and shapes (e.g. freshly initialised).
      fingerprint: the `fingerprint` entry the saved metadata must have.

    Raises:
      TfkipError: the checkpoint was made with another config or is damaged.
    """
    json_path = os.path.join(directory, JSON)
    if not os.path.exists(json_path):
        return None
    with open(json_path) as f:
        metadata = json.load(f)
    if metadata.get('fingerprint') != fingerprint:
        raise TfkipError(
            f'{directory} holds a checkpoint of a different configuration '
            f'({metadata.get("fingerprint")} != {fingerprint}); resume with the same '
            'options, or use a new --workdir')
    leaves, treedef = jax.tree.flatten(template)
    try:
        with np.load(os.path.join(directory, NPZ)) as data:
            saved = [data[f'arr_{i}'] for i in range(metadata['num_leaves'])]
    except (OSError, KeyError, ValueError) as e:
        raise TfkipError(f'{directory}: damaged checkpoint ({e}); delete it to start '
                         'over') from None
    if [s.shape for s in saved] != [np.shape(l) for l in leaves]:
        raise TfkipError(f'{directory}: checkpoint shapes do not match this configuration')
    return jax.tree.unflatten(treedef, [jax.numpy.asarray(s) for s in saved]), metadata
