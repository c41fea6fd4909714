"""`RunConfig`: everything `tfkip run` does, and the config files that hold it.

A config file (YAML or JSON) maps option names to values, with the names of the command
line's options (`ipc`, `learning_rate` or `learning-rate`, `zca_reg`, ...); options given on
the command line override it.
"""
import dataclasses
import hashlib
import json
import os

from tfkip.distill.train import DistillConfig
from tfkip.errors import TfkipError
from tfkip.preprocess import PreprocessConfig
from tfkip.pipeline import STAGES
from tfkip.transfer.train import PROTOCOLS


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
    skip: tuple = ()
    train_split: str = 'train'
    eval_split: str = 'test'
    tfds_data_dir: str | None = None

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
            'transfer': [dataclasses.asdict(t) for t in self.transfer],
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
        raise TfkipError(f'{path}: not a readable YAML or JSON file ({e})') from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise TfkipError(f'{path}: must map option names to values, got a '
                         f'{type(values).__name__}')
    values = {str(k).replace('-', '_'): v for k, v in values.items()}
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise TfkipError(f'{path}: unknown option(s) {", ".join(unknown)}; the options are '
                         f'{", ".join(sorted(allowed))}')
    return values
