"""Writes the parts of the documentation that come from tfkip's registries, so that a new
method needs no edit to any page: the methods tables of README.md and docs/distill.md, and
the config families in each builder's README (`tfds_builders/kip_*/README.md`).

    python docs/generate.py           # rewrite them
    python docs/generate.py --check   # exit 1 if a page is out of date (a test runs this)

Each part sits between `<!-- begin NAME -->` and `<!-- end NAME -->` in its page.
"""
import argparse
import dataclasses
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tfds_builders import DATASETS  # noqa: E402
from tfkip.distill import methods  # noqa: E402
from tfkip.kernels.architectures import ARCHITECTURES  # noqa: E402


def _flags(method):
    return ', '.join(f'`--{field.name.replace("_", "-")}`'
                     for field in dataclasses.fields(method.Options)) or '-'


def readme_methods():
    lines = ['| `--method` | what it does |', '|---|---|']
    lines += [f'| `{m.name}` | {m.summary} |' for m in methods.REGISTRY.values()]
    return '\n'.join(lines)


def distill_methods():
    lines = ['| `--method` | what it does | its own options |', '|---|---|---|']
    lines += [f'| `{m.name}` | {m.summary} | {_flags(m)} |' for m in methods.REGISTRY.values()]
    return '\n'.join(lines)


def builder_families():
    """The config families every `kip_*` builder has (`publish.builder.every_variant`)."""
    lines = ['Configs are `[<method>_]<kernel>[_zca][_fixedlabels][_aug][_f<F>]_ipc<N>`, one '
             'family per way of making a set:', '']
    for m in methods.REGISTRY.values():
        if m.publishes_as != m.name:
            continue
        also = [o.name for o in methods.REGISTRY.values()
                if o.publishes_as == m.name and o is not m]
        prefix = (', '.join(f'`{a}_...`' for a in ARCHITECTURES) if m.name == 'kip'
                  else f'`{m.name}_...`')
        lines.append(f'- {prefix}: `--method {m.name}`, {m.summary}'
                     + ''.join(f'; also `--method {o}` ({methods.get(o).summary})'
                               for o in also))
    lines += ['', '`zca` marks ZCA-whitened images, `fixedlabels` sets made with fixed one-hot '
              'labels, `aug` sets made with DSA augmentation in the loss, `f2` sets stored as '
              '2 x 2 sub-images per image (`--factor 2`; the dataset has a row per sub-image).']
    return '\n'.join(lines)


def pages():
    """{path: {section name: text}} of every generated part."""
    out = {os.path.join(ROOT, 'README.md'): {'methods': readme_methods()},
           os.path.join(ROOT, 'docs', 'distill.md'): {'methods': distill_methods()}}
    for dataset in DATASETS:
        out[os.path.join(ROOT, 'tfds_builders', dataset, 'README.md')] = {
            'configs': builder_families()}
    return out


def render(text, name, part):
    begin, end = f'<!-- begin {name} -->', f'<!-- end {name} -->'
    if begin not in text or end not in text:
        raise SystemExit(f'no {begin} ... {end} section to write')
    return text[:text.index(begin)] + f'{begin}\n{part}\n{end}' + text[text.index(end) + len(end):]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 naming the pages that are out of date')
    args = parser.parse_args(argv)
    stale = []
    for path, parts in pages().items():
        with open(path) as f:
            old = f.read()
        new = old
        for name, part in parts.items():
            new = render(new, name, part)
        if new != old:
            stale.append(os.path.relpath(path, ROOT))
            if not args.check:
                with open(path, 'w') as f:
                    f.write(new)
    if args.check and stale:
        print('out of date (run python docs/generate.py): ' + ', '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
