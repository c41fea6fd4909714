"""Downloads that fail fast and in one line: the host is checked before TFDS's downloader,
which retries a failed connection with backoff for minutes (3.4 measured offline) before it
gives up."""
import socket
import urllib.parse
import urllib.request

from tfkip.errors import TfkipError


def unreachable(url, timeout=10.):
    """The OSError of opening a connection to `url`'s host (or the proxy the environment
    names for its scheme), None if it opens."""
    proxy = urllib.request.getproxies().get(urllib.parse.urlparse(url).scheme)
    where = urllib.parse.urlparse(proxy or url)
    try:
        socket.create_connection(
            (where.hostname, where.port or (443 if where.scheme == 'https' else 80)),
            timeout=timeout).close()
    except OSError as e:
        return e
    return None


def download(start, *, check, failed, instead):
    """`start()`'s result, called once `check`'s host answers (no check where `check` is
    None). The host's error, or `start`'s OSError or TFDS DownloadError, becomes a one-line
    TfkipError: `{failed} ({error}); without internet, {instead}`."""
    import tensorflow_datasets as tfds
    try:
        error = None if check is None else unreachable(check)
        if error is not None:
            raise error
        return start()
    except (OSError, tfds.download.DownloadError) as e:  # requests' errors are OSErrors
        raise TfkipError(f'{failed} ({type(e).__name__}: {str(e).splitlines()[0][:200]}); '
                         f'without internet, {instead}') from None
