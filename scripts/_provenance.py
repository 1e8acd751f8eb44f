"""What the results scripts record about where and how they ran, and how they write their file."""

from __future__ import annotations

import os
import platform
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


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename it, so an interrupted run never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
