"""Command-line options and config-file keys generated from the configuration dataclasses.

Each field of a frozen config dataclass (`KernelConfig`, `DistillConfig` and its methods'
options, `PreprocessConfig`, `TransferConfig`) is one option, named after the field
everywhere: `--images-per-class` on the command line, `images_per_class` in a YAML / JSON
config file and in Python. Its help is the field's entry in the class docstring's
`Attributes:` section, its choices the field's `metadata['choices']`, its default the
dataclass's (or a preset's), so nothing here restates a config. Options not given stay None,
so a preset (a protocol, `tfkip run`'s defaults, a config file) fills them before the
dataclass's own default does. Light: no JAX or TensorFlow import.
"""
import argparse
import dataclasses
import re
import types

ALIASES = {'images_per_class': 'ipc'}  # short names the command line and files also take


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `<prog>: error: <message> (see <prog> --help)`."""

    def error(self, message):
        self.exit(2, f'{self.prog}: error: {message} (see {self.prog} --help)\n')


def in_user_terms(message, names, argv=(), origin=None):
    """`message` with the option names it mentions written as the flags the user typed (an
    alias if they typed it) and the config file a value came from, if any: every
    `snake_case` option name, and a plain-word one at the start (`unknown method ...`).

    Args:
      names: the command's option names; argv: the command line; origin: {name: config
        file} of the options a config file gave.
    """
    def term(name):
        typed = [f'--{alias}' for n, alias in ALIASES.items() if n == name
                 and f'--{alias}' in argv]
        where = f' (in {origin[name]})' if origin and name in origin else ''
        return (typed[0] if typed else flag(name)) + where

    start = re.match(r'(unknown )?(\w+)\b', message)
    if start and start.group(2) in names and '_' not in start.group(2):
        message = message[:start.start(2)] + term(start.group(2)) + message[start.end(2):]
    return re.sub(r'\b[a-z]+(?:_[a-z0-9]+)+\b',
                  lambda m: term(m.group(0)) if m.group(0) in names else m.group(0), message)


def field_docs(cls):
    """{field name: its text} from the `Attributes:` section of `cls`'s docstring; an
    entry 'a, b: text' documents both."""
    text = (cls.__doc__ or '').split('Attributes:', 1)[-1]
    docs, names = {}, []
    for line in text.splitlines():
        match = re.match(r'^\s{4,6}(\w+(?:, \w+)*): (.*)$', line)
        if match:
            names = match.group(1).split(', ')
            for name in names:
                docs[name] = match.group(2).strip()
        elif line.strip() and names:
            for name in names:
                docs[name] += ' ' + line.strip()
    return docs


def _kind(field):
    """(argparse keyword arguments for the value's type) or None for a nested config."""
    kind = field.type
    if isinstance(kind, types.UnionType):  # `int | None`
        kind = next(k for k in kind.__args__ if k is not type(None))
    if kind is bool:
        return {'action': argparse.BooleanOptionalAction}
    if kind is tuple:
        return {'nargs': '*', 'type': field.metadata.get('item', str),
                'metavar': field.metadata.get('metavar', 'VALUE')}
    if kind in (int, float, str):
        return {'type': kind}
    return None


def flag(name):
    return '--' + name.replace('_', '-')


def add_fields(parser, cls, *, defaults=None, skip=(), only=None, prefix='', note=None,
               title=None, description=None):
    """Adds one option per field of the dataclass `cls` to `parser` (in a group `title`).

    Args:
      parser: an argparse parser or group.
      cls: a config dataclass.
      defaults: {field: value} the command presets (shown in the help), else the class's.
      skip: fields not to add; only: the fields to add (default: all).
      prefix: dest `<prefix><field>`, flag `--<prefix-><field>` (e.g. 'transfer_').
      note: the help's default text instead of the value (e.g. "the protocol's").

    Returns:
      The dests added.
    """
    group = parser.add_argument_group(title, description) if title else parser
    docs, added = field_docs(cls), []
    for field in dataclasses.fields(cls):
        kind = _kind(field)
        if field.name in skip or kind is None or (only is not None and field.name not in only):
            continue
        default = (defaults or {}).get(field.name, field.default)
        if default is dataclasses.MISSING:
            default = field.default_factory()
        choices = field.metadata.get('choices')
        if callable(choices):
            choices = choices()
        shown = ' '.join(map(str, default)) if isinstance(default, tuple) else default
        if kind.get('action') is argparse.BooleanOptionalAction:
            shown = {True: 'yes', False: 'no'}.get(default, default)
        shown = 'none' if shown in ('', None) else shown
        text = f'{docs.get(field.name, "")} (default: {note or shown})'
        dest = prefix + field.name
        aliases = [flag(ALIASES[dest])] if dest in ALIASES else []
        group.add_argument(flag(dest), *aliases, dest=dest, default=None, choices=choices,
                           help=text.replace('%', '%%'), **kind)
        added.append(dest)
    return added


def pick(values, cls, skip=(), prefix=''):
    """{field: value} of the entries `<prefix><field>` of `values` for the fields of the
    dataclass `cls` (less `skip`)."""
    names = {f.name for f in dataclasses.fields(cls)} - set(skip)
    return {k[len(prefix):]: v for k, v in values.items()
            if k.startswith(prefix) and k[len(prefix):] in names}


def given(args, names):
    """{name: value} of the options among `names` that were given (not None)."""
    values = vars(args) if isinstance(args, argparse.Namespace) else args
    return {name: _tuple(values[name]) for name in names if values.get(name) is not None}


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value
