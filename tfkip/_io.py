"""Atomic file writes: write beside the target, then rename into place.

A crash mid-write leaves the old file (or none), never half of a new one; `os.replace`
is atomic on POSIX within one filesystem, which the temporary name guarantees.
"""
import contextlib
import hashlib
import os


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path next to `path`; renames it to `path` if the block succeeds."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f'.{os.path.basename(path)}.tmp-{os.getpid()}')
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    with atomic_path(path) as tmp, open(tmp, 'w') as f:
        f.write(text)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()
