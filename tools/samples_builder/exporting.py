"""Running tools/export_activations.py (the exporter users run) and reading what it wrote."""

import os
import subprocess
import sys

from .log import log

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EXPORTER = os.path.join(ROOT, "tools", "export_activations.py")


def run_exporter(*args):
    cmd = [sys.executable, EXPORTER, *args]
    log("running " + " ".join(os.path.relpath(a, ROOT) if os.path.isabs(a) and a.startswith(ROOT) else a for a in cmd[1:]))
    subprocess.run(cmd, check=True)


def load_cache(path):
    """(acts float32 [N, D], tokens [N], seq_offsets [S+1], metadata) of a one-file cache."""
    import torch
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        return (f.get_tensor("acts").to(torch.float32), f.get_tensor("tokens"), f.get_tensor("seq_offsets"),
                f.metadata())
