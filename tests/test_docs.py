"""The user docs against the code: the parts made from the registries up to date, every link
resolving, the README short."""
import importlib.util
import os
import re

import pytest

from tfkip.distill import methods

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ['README.md'] + [os.path.join('docs', name)
                         for name in sorted(os.listdir(os.path.join(ROOT, 'docs')))
                         if name.endswith('.md')]


def _read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def test_generated_parts_are_up_to_date():
    """The methods tables and the builders' config lists come from the registry
    (`docs/generate.py`); after adding a method, run it."""
    spec = importlib.util.spec_from_file_location('generate', os.path.join(ROOT, 'docs',
                                                                           'generate.py'))
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert generate.main(['--check']) == 0
    listed = generate.readme_methods()
    assert all(f'| `{name}` |' in listed for name in methods.REGISTRY)


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
    headings = {re.sub(r'[^a-z0-9 -]', '', h.lower()).replace(' ', '-')
                for h in re.findall(r'^## (.+)$', text, re.M)}
    for anchor in re.findall(r'\]\(#([^)]+)\)', text):
        assert anchor in headings, anchor
