"""What every benchmark shares: the machine it ran on, the commit, a measurement in a fresh
process, and writing a result with its table."""
import json
import os
import platform
import re
import subprocess
import sys

from tfkip._io import write_text


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """{'cpu', 'cores', 'jax', 'devices', 'device_kind', 'python', 'xla_flags'} of this
    process; 'device_kind' is the accelerator's model (e.g. 'NVIDIA H200')."""
    import jax
    devices = jax.devices()
    return {'cpu': cpu_name(), 'cores': os.cpu_count(), 'jax': jax.__version__,
            'devices': [str(d) for d in devices], 'device_kind': devices[0].device_kind,
            'python': platform.python_version(),
            'xla_flags': os.environ.get('XLA_FLAGS', '')}


def describe(info):
    """`machine()` in one line, with the cores this process may use where they are fewer and
    the accelerator's model where there is one (a CPU's line is unchanged, so that results
    recorded before still match it)."""
    cores = len(os.sched_getaffinity(0))
    return (f'{info["cpu"]}, {info["cores"]} cores'
            + (f' ({cores} used)' if cores < info['cores'] else '')
            + f', JAX {info["jax"]} on {device_name(info, info["devices"][0])}, '
            f'Python {info["python"]}')


def device_name(info, device):
    """`device` ('cuda:0') with the accelerator's model before it where `info` (a recorded
    `machine()`) has one; results recorded before the model was kept show the device alone."""
    kind = info.get('device_kind', 'cpu')
    return device if kind == 'cpu' else f'{kind} ({device})'


def commit():
    """The checkout's commit, '+' when it has uncommitted changes; None outside git."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = lambda *a: subprocess.run(['git', *a], cwd=root, capture_output=True, text=True)
    head = git('rev-parse', '--short', 'HEAD')
    if head.returncode:
        return None
    dirty = git('status', '--porcelain', '--untracked-files=no').stdout.strip()
    return head.stdout.strip() + ('+' if dirty else '')


def device_tag(device):
    """The suffix of a benchmark's result files: 'cpu' on the CPU, else the accelerator's
    kind (e.g. 'nvidia_h200'), so that each machine's figures keep their own files."""
    if device.platform == 'cpu':
        return 'cpu'
    return re.sub(r'[^a-z0-9]+', '_', device.device_kind.lower()).strip('_')


def run_json(script, args, env=None):
    """Runs `python script *args` in the script's folder, `env` added to this process's
    environment, and returns the JSON value of the last line it prints (CalledProcessError if
    it fails): for settings a library fixes when it starts, or to keep one implementation's
    memory out of another's run."""
    out = subprocess.run([sys.executable, script, *map(str, args)],
                         cwd=os.path.dirname(os.path.abspath(script)),
                         env=dict(os.environ, **(env or {})), check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def write_results(base, result, text):
    """Writes `base`.json (the result) and `base`.md (its table `text`); prints the path."""
    write_text(base + '.json', json.dumps(result, indent=2) + '\n')
    write_text(base + '.md', text)
    print(f'wrote {base}.md')
