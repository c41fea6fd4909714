"""The one exception type users see: it names the problem and how to fix it."""


class TfkipError(ValueError):
    """Bad input or configuration: a wrong shape, a broken file, an unknown name.

    The command line prints its message (no traceback) and exits with status 2.
    """


def check_integers(config, names, minimum):
    """Raises TfkipError unless each attribute `names` of `config` is an int >= `minimum`."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or value < minimum:
            raise TfkipError(f'{name} must be an integer >= {minimum}, got {value!r}')
