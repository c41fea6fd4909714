"""BENCHMARKS.md is made of sections, each written by one benchmark script."""
import os

from tfkip._io import write_text


def replace_section(path, name, text):
    """Writes `text` between `<!-- begin NAME -->` and `<!-- end NAME -->` in the file at
    `path`, keeping the other sections; appends the section if the file lacks it."""
    begin, end = f'<!-- begin {name} -->', f'<!-- end {name} -->'
    old = open(path).read() if os.path.exists(path) else ''
    block = f'{begin}\n{text.rstrip()}\n{end}'
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old + ('\n' if old and not old.endswith('\n') else '') + block + '\n'
    write_text(path, new)
