"""What every benchmark prints first: the CPU it ran on and the software it used."""
from __future__ import annotations

import os
import platform

import numpy as np


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's best guess)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe_machine() -> str:
    """One line: CPU, core count, Python and numpy versions."""
    return (f"CPU: {cpu_model()} ({os.cpu_count()} cores) | Python {platform.python_version()} "
            f"| numpy {np.__version__}")
