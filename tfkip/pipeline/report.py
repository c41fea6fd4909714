"""The run report: `report.json`, `report.md` and two figures in the run directory.

`distilled.png`: the distilled images, one row per class (each image under its current
argmax label, which learned labels may have moved), mapped back to pixel space
(`preprocess.invert`) and each scaled to its own range. `curves.png`: the loss and the
held-out KRR accuracy against the step, from step 0 (the real images distillation starts from).
The markdown puts the distilled set beside a random real subset of the same size under every
transfer protocol of the run, and says so in a sentence when the distilled set does not win.
"""
import json
import os

import numpy as np

from tfkip._io import atomic_path, write_text
from tfkip.pipeline import PRESET_REASON, RUN_DEFAULTS

MAX_PER_CLASS = 10  # images per class row in distilled.png


def write_report(config, outputs, timings):
    """Writes the report files; returns {name: path}."""
    summary = _summary(config, outputs, timings)
    paths = {'json': os.path.join(config.run_dir, 'report.json'),
             'markdown': os.path.join(config.run_dir, 'report.md')}
    distill = outputs.get('distill')
    if distill:
        from tfkip.formats import distilled_set
        distilled = distilled_set.load(distill['artifact'])
        paths['images'] = _image_grid(distilled, os.path.join(config.run_dir, 'distilled.png'))
        if distilled.metadata.losses or distilled.metadata.history:
            paths['curves'] = _curves(distilled.metadata,
                                      os.path.join(config.run_dir, 'curves.png'))
    summary['files'] = paths
    write_text(paths['json'], json.dumps(summary, indent=2, default=str) + '\n')
    write_text(paths['markdown'], _markdown(summary))
    return paths


def _summary(config, outputs, timings):
    distill, transfer, baseline = (outputs.get(k) or {} for k in ('distill', 'transfer',
                                                                   'baseline'))
    published = outputs.get('publish')
    return {
        'config': config.to_dict(),
        'seconds_per_stage': timings,
        'krr_accuracy': distill.get('krr_accuracy'),
        'steps': distill.get('steps'),
        'transfer': (transfer or {}).get('results'),
        'baseline_krr_accuracy': (baseline.get('krr') or {}).get('accuracy'),
        'baseline_transfer': (baseline.get('transfer') or {}).get('results'),
        'published': published and dict(
            published, load=f"tfds.load('{published['dataset']}', "
                             f"data_dir='{os.path.abspath(published['data_dir'])}')"),
    }


def _percent(x):
    return '-' if x is None else f'{100 * x:.2f}%'


def _transfer_cell(result):
    if not result:
        return '-'
    return (f'{100 * result["mean"]:.2f}% ± {100 * result["std"]:.2f} '
            f'({len(result["accuracies"])} seeds)')


def _transfer_rows(s):
    """(table rows, verdict sentences): distilled vs random under each protocol."""
    distilled = {r['protocol']: r for r in s['transfer'] or []}
    random = {r['protocol']: r for r in s['baseline_transfer'] or []}
    rows, verdicts = [], []
    for name in dict.fromkeys([*distilled, *random]):
        d, r = distilled.get(name), random.get(name)
        network = (d or r)['network']
        rows.append(f'| Keras {network}, `{name}` protocol | {_transfer_cell(d)} | '
                    f'{_transfer_cell(r)} |')
        for score, title in (('label_robust', 'Label-Robust'),
                             ('augmentation_robust', 'Augmentation-Robust')):
            if d and d.get('scores') and d['scores'][score]:  # LRS may be left out
                value = d['scores'][score]['score']
                rows.append(f'| DD-Ranking {title} Score, `{name}` protocol | '
                            f'{value["mean"]:.3f} ± {value["std"]:.3f} | (the reference) |')
        if d and r:
            gap = 100 * (d['mean'] - r['mean'])
            if gap <= 0:
                verdicts.append(f'**The distilled set does not beat a random real subset of the '
                                f'same size under the `{name}` protocol** ({100 * d["mean"]:.2f}% '
                                f'against {100 * r["mean"]:.2f}%): for training this network, '
                                f'random real images are as good.')
            elif gap <= 2 * 100 * max(d['std'], r['std']):
                verdicts.append(f'Under the `{name}` protocol the distilled set is ahead by '
                                f'{gap:.2f} points, within two standard deviations of the seeds.')
    return rows, verdicts


def _method_note(d):
    """Whether the run took `tfkip run`'s preset method, and why the preset is what it is."""
    preset = RUN_DEFAULTS['method']
    if d['method'] == preset:
        return f"The method is `tfkip run`'s preset: {PRESET_REASON} (docs/pipeline.md)."
    return (f"The method was chosen by this run's options; `tfkip run`'s preset is "
            f"{preset.upper()} (docs/pipeline.md says why).")


def _markdown(s):
    c = s['config']
    d = c['distill']
    rows, verdicts = _transfer_rows(s)
    ipc, factor = d['images_per_class'], d.get('factor', 1)
    size = (f'{ipc} image(s) per class' if factor == 1 else
            f'{ipc} stored image(s) per class of {factor} x {factor} sub-images each: '
            f'{ipc * factor ** 2} training images per class in the storage of {ipc}')
    lines = [
        f'# tfkip run: {c["source"]} -> {c["dataset"]}',
        '',
        # The kernel is every method's KRR yardstick, and KIP's objective too: name it as such.
        f'{d["method"].upper()}, {size}, {s["steps"]} steps, on the '
        f'{d["kernel"]["architecture"]} family of depth {d["kernel"]["depth"]} (the KRR row '
        f'uses its {d["kernel"]["kernel"].upper()} kernel). Full configuration: `report.json`.',
        '',
        _method_note(d),
        '',
        '| | distilled set | random real subset of the same size |',
        '|---|---|---|',
        f'| KRR test accuracy | {_percent(s["krr_accuracy"])} | '
        f'{_percent(s["baseline_krr_accuracy"])} |',
        *rows,
        '',
        *[line for v in verdicts for line in (v, '')],
        '| stage | seconds |',
        '|---|---|',
        *[f'| {stage} | {seconds:.1f} |' for stage, seconds in s['seconds_per_stage'].items()],
        '']
    if s['published']:
        lines += [f'Published as `{s["published"]["dataset"]}` in `{s["published"]["data_dir"]}`:',
                  '', '```python', 'import tensorflow_datasets as tfds',
                  f'ds = {s["published"]["load"]}', '```', '']
    for name, title in (('images', 'Distilled images'), ('curves', 'Training curves')):
        if name in s['files']:
            lines += [f'![{title}]({os.path.basename(s["files"][name])})', '']
    return '\n'.join(lines)


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt
    return plt


def _save(figure, path):
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format='png', dpi=100, bbox_inches='tight')
    _pyplot().close(figure)
    return path


def _image_grid(distilled, path):
    """distilled.png: up to MAX_PER_CLASS images of each class, in pixel space."""
    from tfkip.formats import distilled_set
    from tfkip.preprocess import invert
    stats = distilled_set.load_preprocessing(distilled)
    images = invert(stats, distilled.images) if stats is not None else distilled.images
    classes = distilled.class_ids  # what a network trained on the set is told
    names = distilled.metadata.class_names or [str(c) for c in range(distilled.num_classes)]
    columns = min(MAX_PER_CLASS, max(int(np.sum(classes == c)) for c in range(len(names))))
    plt = _pyplot()
    figure, axes = plt.subplots(len(names), columns, squeeze=False,
                                figsize=(columns * 0.8 + 1, len(names) * 0.8))
    for c, row in enumerate(axes):
        members = np.flatnonzero(classes == c)[:columns]
        for j, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(names[c], rotation=0, ha='right', va='center')
            if j >= len(members):
                ax.axis('off')
                continue
            image = images[members[j]]
            image = (image - image.min()) / max(float(image.max() - image.min()), 1e-12)
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap='gray')
    return _save(figure, path)


def _curves(metadata, path):
    """curves.png: the loss on the target batches, and the held-out KRR accuracy."""
    losses, history = metadata.losses, metadata.history
    plt = _pyplot()
    figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.2))
    loss_ax.plot([h['step'] for h in losses], [h['loss'] for h in losses])
    loss_ax.set(xlabel='step', ylabel='loss (target batch)', yscale='log')
    acc_ax.plot([h['step'] for h in history], [h['eval_accuracy'] for h in history], marker='.')
    acc_ax.set(xlabel='step', ylabel='held-out KRR accuracy')
    figure.tight_layout()
    return _save(figure, path)
