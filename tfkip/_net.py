"""Whether a download can start: checked before TFDS's downloader, which retries a failed
connection with backoff for minutes (3.4 measured offline) before it gives up."""
import socket
import urllib.parse
import urllib.request


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
