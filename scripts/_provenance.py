"""What the results scripts record about where and how they ran, and how they write their file."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

import jax

import widthlimits


def device_description() -> dict:
    """The backend, device kind and CPU, with the load average now (call it before the run starts)."""
    dev = jax.devices()[0]
    return dict(
        backend=jax.default_backend(),
        kind=getattr(dev, "device_kind", str(dev)),
        count=jax.device_count(),
        cpu=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        load_average_at_start=os.getloadavg(),
    )


def versions() -> dict:
    return dict(widthlimits=widthlimits.__version__, jax=jax.__version__, python=platform.python_version())


def run_record(script: str, argv: list[str] | None, device: dict) -> dict:
    """Command line, date (UTC), device (with the load average now, at the end of the run) and versions."""
    return dict(
        command=f"python scripts/{script} " + " ".join(sys.argv[1:] if argv is None else argv),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        device=device | dict(load_average_at_end=os.getloadavg()),
        versions=versions(),
    )


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename it, so an interrupted run never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
