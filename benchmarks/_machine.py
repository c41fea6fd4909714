"""What the benchmarks record about the machine they ran on."""
import platform
import re


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


def device_tag(device):
    """The suffix of a benchmark's result files: 'cpu' on the CPU, else the accelerator's
    kind (e.g. 'nvidia_h200'), so that each machine's figures keep their own files."""
    if device.platform == 'cpu':
        return 'cpu'
    return re.sub(r'[^a-z0-9]+', '_', device.device_kind.lower()).strip('_')
