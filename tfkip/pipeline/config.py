"""`RunConfig`: everything `tfkip run` does, and the config files that hold it.

A config file (YAML or JSON) maps option names to values, with the names of the command
line's options (`images_per_class` or `ipc`, `learning_rate` or `learning-rate`, `zca_reg`,
`transfer_protocol`, ...); options given on the command line override it, and it overrides
`RUN_DEFAULTS`. `RunConfig.from_options` turns the merged options into the configs.
"""
import dataclasses
import hashlib
import json
import os

from tfkip.distill.config import DistillConfig
from tfkip.errors import TfkipError
from tfkip.option_sets import score_config
from tfkip.options import ALIASES, pick
from tfkip.preprocess import PreprocessConfig
from tfkip.pipeline import RUN_DEFAULTS, RUN_FACTOR, RUN_FACTOR_SIDE, STAGES
from tfkip.transfer.robust import ScoreConfig
from tfkip.transfer.train import PROTOCOLS, TransferConfig, protocols

TRANSFER_PREFIX = 'transfer_'  # `tfkip run`'s transfer options: --transfer-<field>


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One pipeline run.

    Attributes:
      source: the real data (`tfkip.sources.open_source` spec).
      run_dir: where every stage writes; a rerun resumes from it.
      dataset: the `kip_*` TFDS dataset to publish to.
      preprocess: the Beam stage's standardization / ZCA.
      distill: KIP or Label Solve.
      transfer: the Keras protocols (TransferConfigs), each also run on the random-subset
        baseline.
      scores: DD-Ranking's robust scores of the set under each protocol (a ScoreConfig), or
        None: not measured.
      skip: stages not to run; later stages use their earlier outputs, if any.
      train_split, eval_split: the source's splits to distill and to test on.
      tfds_data_dir: TFDS data_dir for `tfds:` sources.
    """
    source: str
    run_dir: str
    dataset: str
    preprocess: PreprocessConfig = PreprocessConfig()
    distill: DistillConfig = DistillConfig()
    transfer: tuple = (PROTOCOLS['standard'],)
    scores: ScoreConfig | None = None
    skip: tuple = ()
    train_split: str = 'train'
    eval_split: str = 'test'
    tfds_data_dir: str | None = None

    @classmethod
    def from_options(cls, values):
        """The run of a flat {option: value} mapping (`tfkip run`'s options, a config file's
        keys) over `RUN_DEFAULTS`: source, run_dir, dataset (default: the one the source is
        named after), skip, the splits, every DistillConfig / KernelConfig / method /
        PreprocessConfig option, transfer_protocol and transfer_<TransferConfig field>, and
        transfer_scores and transfer_<ScoreConfig field>.
        Without `augmentation`, methods whose loss takes it get the dataset's DSA groups;
        without `factor`, the preset's method stores `RUN_FACTOR` x `RUN_FACTOR` sub-images
        in each image of a dataset whose images are `RUN_FACTOR_SIDE` a side or more."""
        from tfkip.distill import methods
        from tfkip.publish import augmentation, builder_class, dataset_for_source
        values = {k: v for k, v in values.items() if v is not None}
        method = methods.get(values.get('method', RUN_DEFAULTS['method']))
        others = {k for k, (owner, _) in methods.option_fields().items() if owner is not method}
        preset = method.name == RUN_DEFAULTS['method']
        values = {**{k: v for k, v in RUN_DEFAULTS.items() if k not in others}, **values}
        for name in ('source', 'run_dir'):
            if name not in values:
                raise TfkipError(f'--{name.replace("_", "-")} is required (on the command '
                                 'line or in --config-file)')
        dataset = values.get('dataset') or dataset_for_source(values['source'])
        if dataset is None:
            raise TfkipError(f'cannot tell which kip_* dataset {values["source"]} is; give '
                             '--dataset')
        side = min(builder_class(dataset).IMAGE_SHAPE[:2])  # an unknown name stops here
        if preset and 'factor' not in values and side >= RUN_FACTOR_SIDE:
            values['factor'] = RUN_FACTOR
        distill = DistillConfig.from_options(values)
        if 'augmentation' not in values and distill.algorithm.augments:
            distill = dataclasses.replace(distill, augmentation=augmentation(dataset))
        transfer = pick(values, TransferConfig, prefix=TRANSFER_PREFIX)
        skip = values.get('skip', ())
        return cls(source=values['source'], run_dir=values['run_dir'], dataset=dataset,
                   preprocess=PreprocessConfig.from_options(values),
                   distill=distill,
                   transfer=protocols(transfer.pop('protocol', None), dataset, **transfer),
                   scores=score_config(values, TRANSFER_PREFIX),
                   skip=(skip,) if isinstance(skip, str) else tuple(skip),
                   **{k: values[k] for k in ('train_split', 'eval_split', 'tfds_data_dir')
                      if k in values})

    def __post_init__(self):
        unknown = sorted(set(self.skip) - set(STAGES))
        if unknown:
            raise TfkipError(f'cannot skip {unknown}: the stages are {", ".join(STAGES)}')

    def to_dict(self):
        return dataclasses.asdict(self)

    def stage_fingerprint(self, stage, upstream=''):
        """Identifies what `stage` computes from: its options and its upstream stages'."""
        options = {
            'preprocess': [self.source, self.preprocess.to_dict(), self.train_split,
                           self.eval_split, self.tfds_data_dir],
            'distill': [self.distill.to_dict()],
            'publish': [self.dataset],
            'transfer': [dataclasses.asdict(t) for t in self.transfer]
                        + ([dataclasses.asdict(self.scores)] if self.scores else []),
            'baseline': [dataclasses.asdict(t) for t in self.transfer],
            'report': [],
        }[stage]
        digest = hashlib.sha256(upstream.encode())
        digest.update(json.dumps(options, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:16]


def load_config_file(path, allowed):
    """{option: value} from a YAML or JSON file, names checked against `allowed`.

    Raises:
      TfkipError: a missing or unreadable file, not a mapping, or unknown option names.
    """
    import yaml  # a superset of JSON
    if not os.path.exists(path):
        raise TfkipError(f'config file not found: {path}')
    try:
        with open(path) as f:
            values = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        problem = ' '.join(str(e).split())  # YAML's message spans lines
        raise TfkipError(f'{path}: not a readable YAML or JSON file ({problem})') from None
    return config_values({} if values is None else values, allowed, path)


def config_values(values, allowed, where):
    """A config file's mapping with each name as its option's (`ipc` -> `images_per_class`,
    dashes as underscores), checked against `allowed`; `where` names it in errors."""
    if not isinstance(values, dict):
        raise TfkipError(f'{where}: must map option names to values, got a '
                         f'{type(values).__name__}')
    values = {str(k).replace('-', '_'): v for k, v in values.items()}
    full_names = {alias: name for name, alias in ALIASES.items()}
    values = {full_names.get(k, k): v for k, v in values.items()}
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise TfkipError(f'{where}: unknown option(s) {", ".join(unknown)}; the options are '
                         f'{", ".join(sorted(allowed))}')
    return values
