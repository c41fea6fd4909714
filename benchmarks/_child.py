"""A benchmark's measurement in a fresh process: for settings a library fixes when it starts
(thread pools, XLA flags), or to keep one implementation's memory out of another's run."""
import json
import os
import subprocess
import sys


def run_json(script, args, env=None):
    """Runs `python script *args` in the script's folder, `env` added to this process's
    environment, and returns the JSON value of the last line it prints (CalledProcessError if
    it fails)."""
    out = subprocess.run([sys.executable, script, *map(str, args)],
                         cwd=os.path.dirname(os.path.abspath(script)),
                         env=dict(os.environ, **(env or {})), check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])
