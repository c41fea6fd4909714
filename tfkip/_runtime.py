"""Process-level XLA settings, applied by the entry points (CLI, benchmarks) only.

XLA's CPU "concurrency-optimized" scheduler runs independent parts of one program at
the same time; on a 2-core machine the parts then fight over the cores, and a KIP step
(the support kernel K_ss and the target kernel K_ts are independent) runs 1.3-1.6x
slower than with plain sequential scheduling (measured with jax 0.10.2). XLA reads
XLA_FLAGS when its CPU backend starts, so this must run before the first computation.
"""
import os

_CPU_FLAGS = ('--xla_cpu_enable_concurrency_optimized_scheduler=false',)


def configure_xla_cpu():
    """Adds the flags above to XLA_FLAGS, leaving any the user set themselves alone."""
    flags = os.environ.get('XLA_FLAGS', '')
    for flag in _CPU_FLAGS:
        if flag.split('=')[0] not in flags:
            flags = f'{flags} {flag}'.strip()
    os.environ['XLA_FLAGS'] = flags
