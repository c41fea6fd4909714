"""The user docs against the code: every registered method listed, every link resolving."""
import os
import re

import pytest

from tfkip.distill import methods

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ['README.md'] + [os.path.join('docs', name)
                         for name in sorted(os.listdir(os.path.join(ROOT, 'docs')))]


def _read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def _table_names(text):
    """The backquoted names in the first cell of every table row."""
    return {name for row in re.findall(r'^\| ([^|]*)\|', text, re.M)
            for name in re.findall(r'`([a-z_]+)`', row)}


@pytest.mark.parametrize('page', ['README.md', 'docs/distill.md'])
def test_method_tables_list_every_registered_method(page):
    missing = set(methods.REGISTRY) - _table_names(_read(page))
    assert not missing, f'{page} has no table row for {sorted(missing)}'


@pytest.mark.parametrize('page', PAGES)
def test_relative_links_resolve(page):
    for target in re.findall(r'\]\(([^)#]+)(?:#[^)]*)?\)', _read(page)):
        if '://' in target:
            continue
        path = os.path.normpath(os.path.join(ROOT, os.path.dirname(page), target))
        assert os.path.exists(path), f'{page} links to {target}, which does not exist'


def test_readme_is_short_with_contents():
    text = _read('README.md')
    assert len(text.splitlines()) <= 250
    assert '## Contents' in text
    for anchor in re.findall(r'\]\(#([^)]+)\)', text):
        headings = {re.sub(r'[^a-z0-9 -]', '', h.lower()).replace(' ', '-')
                    for h in re.findall(r'^## (.+)$', text, re.M)}
        assert anchor in headings, anchor
