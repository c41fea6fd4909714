"""One preprocessing default everywhere: the library, `tfkip preprocess`, `tfkip distill` and
`tfkip run` fit the same statistics for the same source when given no options."""
import dataclasses

import numpy as np
import pytest

from tfkip import cli, preprocess, sources
from tfkip.formats import distilled_set
from conftest import make_images

pytestmark = pytest.mark.slow  # end to end: the full suite runs it


@pytest.mark.parametrize('channels,zca', [(3, True), (1, False)])
def test_every_entry_point_preprocesses_alike_by_default(tmp_path, channels, zca):
    train = make_images(6, shape=(8, 8, channels), seed=0)
    test = make_images(3, shape=(8, 8, channels), seed=1)
    path = str(tmp_path / 'data.npz')
    np.savez(path, train_images=train.images * 40 + 100, train_labels=train.labels,
             test_images=test.images * 40 + 100, test_labels=test.labels)
    library = preprocess.fit(preprocess.PreprocessConfig(),
                             sources.load_split(sources.open_source(path), 'train'))
    assert (library.zca is not None) == zca  # colour images only

    assert cli.main(['preprocess', '--source', path, '--output', str(tmp_path / 'beam')]) == 0
    beam = sources.open_source(str(tmp_path / 'beam')).stats()
    assert cli.main(['distill', '--source', path, '--out', str(tmp_path / 'set'),
                     '--method', 'random', '--ipc', '1']) == 0
    distilled = distilled_set.load_preprocessing(distilled_set.load(str(tmp_path / 'set.npz')))
    assert cli.main(['run', '--source', path, '--run-dir', str(tmp_path / 'run'), '--dataset',
                     'kip_cifar10', '--method', 'random', '--ipc', '1', '--skip', 'publish',
                     'transfer', 'baseline', 'report']) == 0
    run = sources.open_source(str(tmp_path / 'run' / 'preprocessed')).stats()

    for stats in (beam, distilled, run):
        assert stats.config == library.config
        for part in ('channel', 'zca'):
            ours, theirs = getattr(stats, part), getattr(library, part)
            assert (ours is None) == (theirs is None)
            if ours is not None:
                for a, b in zip(dataclasses.astuple(ours), dataclasses.astuple(theirs)):
                    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
