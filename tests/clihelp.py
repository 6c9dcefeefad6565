"""Drive the real ``policytrack`` CLI in a subprocess, as a user (or cron) would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

# Fast but still paced: the local pywb is not the Internet Archive.
FAST = ["-s", "POLICYTRACK_CDX_RATE_PER_MINUTE=6000", "-s", "POLICYTRACK_CAPTURE_RATE_PER_SECOND=200",
        "-s", "RETRY_TIMES=1", "-s", "LOG_LEVEL=WARNING", "--workers", "1"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def run_cli(*args: str, db: str | None = None, timeout: float = 180, env: dict[str, str] | None = None) -> Result:
    argv = [sys.executable, "-m", "policytrack.cli", *args]
    if db is not None:
        argv += ["--db", db]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    return Result(proc.returncode, proc.stdout, proc.stderr)


def crawl(db: str, archive: str, *args: str) -> Result:
    return run_cli("crawl", *args, "--archive", archive, *FAST, db=db)
