"""Process settings made by the entry points: added once, never over a user's own choice."""
import os

from tfkip._runtime import configure_xla_cpu

FLAG = '--xla_cpu_enable_concurrency_optimized_scheduler'


def test_flag_is_added_once_and_user_flags_survive(monkeypatch):
    monkeypatch.setenv('XLA_FLAGS', '--xla_force_host_platform_device_count=2')
    configure_xla_cpu()
    configure_xla_cpu()
    flags = os.environ['XLA_FLAGS'].split()
    assert flags == ['--xla_force_host_platform_device_count=2', f'{FLAG}=false']


def test_users_own_setting_wins(monkeypatch):
    monkeypatch.setenv('XLA_FLAGS', f'{FLAG}=true')
    configure_xla_cpu()
    assert os.environ['XLA_FLAGS'] == f'{FLAG}=true'


def test_one_openblas_thread_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv('OPENBLAS_NUM_THREADS', raising=False)
    configure_xla_cpu()
    assert os.environ['OPENBLAS_NUM_THREADS'] == '1'
    monkeypatch.setenv('OPENBLAS_NUM_THREADS', '4')
    configure_xla_cpu()
    assert os.environ['OPENBLAS_NUM_THREADS'] == '4'
