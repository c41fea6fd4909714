"""The one exception type users see: it names the problem and how to fix it; and the
checks of config dataclasses that raise it."""
import dataclasses


class TfkipError(ValueError):
    """Bad input or configuration: a wrong shape, a broken file, an unknown name.

    The command line prints its message (no traceback) and exits with status 2.
    """


def check_choices(config):
    """Raises TfkipError unless every field of the dataclass `config` whose metadata
    declares `choices` (a tuple, or a function returning one) holds one of them."""
    for field in dataclasses.fields(config):
        choices = field.metadata.get('choices')
        choices = choices() if callable(choices) else choices
        value = getattr(config, field.name)
        if choices is not None and value not in choices:
            raise TfkipError(f'unknown {field.name} {value!r}; choose one of {tuple(choices)}')


def check_positive(config, names):
    """Raises TfkipError unless each attribute `names` of `config` is a number > 0."""
    for name in names:
        value = getattr(config, name)
        if not (isinstance(value, (int, float)) and value > 0):
            raise TfkipError(f'{name} must be > 0, got {value!r}')


def check_integers(config, names, minimum):
    """Raises TfkipError unless each attribute `names` of `config` is an int >= `minimum`."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or value < minimum:
            raise TfkipError(f'{name} must be an integer >= {minimum}, got {value!r}')


def check_booleans(config, names):
    """Raises TfkipError unless each attribute `names` of `config` is True or False."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, bool):
            raise TfkipError(f'{name} must be true or false, got {value!r}')
