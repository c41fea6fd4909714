"""Atomic file writes: write beside the target, then rename into place.

A crash mid-write leaves the old file (or none), never half of a new one; `os.replace`
is atomic on POSIX within one filesystem, which the temporary name guarantees. Temporary
names carry the writer's process id (`.<name>.tmp-<pid>`, `<name>.tmp-<pid>-<random>`), so
that `remove_leftovers` can delete what a killed process (kill -9) left behind, and nothing a
running one is writing.
"""
import contextlib
import hashlib
import os
import re
import shutil
import uuid

from tfkip.errors import TfkipError

_TEMPORARY = re.compile(r'.+\.tmp-(\d+)(-[0-9a-f]+)?')


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


def temporary_name(path):
    """A fresh name beside `path` for a folder written in full, then renamed to `path`."""
    return f'{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}'


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's, alive
        return True
    return True


def remove_leftovers(directory, *, prefix='', recursive=False):
    """Deletes the temporary files and folders (named `<prefix>...tmp-<pid>...`) in the local
    `directory`, and below it if `recursive`, whose writing process no longer runs."""
    if '://' in directory or not os.path.isdir(directory):
        return
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            match = _TEMPORARY.fullmatch(name)
            if name.startswith(prefix) and match and not _running(int(match.group(1))):
                path = os.path.join(root, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        if not recursive:
            break
        dirs[:] = [d for d in dirs if os.path.isdir(os.path.join(root, d))]


def check_writable(path, what):
    """Raises TfkipError unless a file can be written at `path` (a local folder is created
    if missing; a bucket path is left to the write itself). `what` names the option."""
    if '://' in path:
        return
    directory = os.path.abspath(path)
    try:
        os.makedirs(directory, exist_ok=True)
        probe = os.path.join(directory, f'.write-test.tmp-{os.getpid()}')
        with open(probe, 'w'):
            pass
        os.remove(probe)
    except OSError as e:
        raise TfkipError(f'{what} {path}: cannot write there ({e.strerror})') from None


def write_text(path, text):
    with atomic_path(path) as tmp, open(tmp, 'w') as f:
        f.write(text)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()
