"""The one exception type users see: it names the problem and how to fix it."""


class TfkipError(ValueError):
    """Bad input or configuration: a wrong shape, a broken file, an unknown name.

    The command line prints its message (no traceback) and exits with status 2.
    """
