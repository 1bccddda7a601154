#!/usr/bin/env python3
"""The pinned Python environment of saescope's model bridge (`make model-env`).

    python3 tools/model_env.py path      print the environment's python (whether or not it exists)
    python3 tools/model_env.py create    create it unless it is complete, print its python

Location: ${XDG_CACHE_HOME:-$HOME/.cache}/saescope/python-<key>, where <key> is the 64-bit FNV-1a
hash of tools/requirements-model.txt in hexadecimal: clones with the same pins share one
environment, and changing a pin builds a new one. saescope computes the same path at run time
(Sources/SAECore/ModelBridge/ModelEnvironment.swift). An environment is complete when its
`.complete` marker exists, written last, so an interrupted build is redone, never half used.
"""

import os
import shutil
import subprocess
import sys
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
PINS = os.path.join(TOOLS, "requirements-model.txt")
NO_DEPS = "# no-deps:"
UV = "uv==0.13.9"  # the installer (changing it changes no installed version, so it is not a pin)


def pins_key(data: bytes) -> str:
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(value, "x")


def environment_dir() -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    with open(PINS, "rb") as fh:
        return os.path.join(cache, "saescope", "python-" + pins_key(fh.read()))


def create(root: str) -> None:
    started = time.time()
    if os.path.exists(root):
        shutil.rmtree(root)  # no marker: a build that was interrupted
    os.makedirs(os.path.dirname(root), exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", root], check=True)
    python = os.path.join(root, "bin", "python")
    # uv installs the same wheels as pip about ten times faster (parallel downloads and unpacking:
    # measured 20 s against pip's 3 min 11 s for these pins, most of it torch's CUDA packages).
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir", UV],
                   check=True)
    install = [os.path.join(root, "bin", "uv"), "pip", "install", "--quiet", "--no-cache", "--python", python]
    with open(PINS, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh]
    regular = [line for line in lines if line and not line.startswith("#")]
    no_deps = [line[len(NO_DEPS):].strip() for line in lines if line.startswith(NO_DEPS) and "==" in line]
    subprocess.run(install + regular, check=True)
    if no_deps:
        subprocess.run(install + ["--no-deps"] + no_deps, check=True)
    check = subprocess.run([os.path.join(root, "bin", "python"), "-c", "import torch, transformers, gguf, pytest"],
                           env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if check.returncode != 0:
        raise SystemExit(f"{root}: the new environment cannot import torch/transformers/gguf/pytest")
    with open(os.path.join(root, ".complete"), "w", encoding="utf-8") as fh:
        fh.write(f"built in {time.time() - started:.0f} s from {PINS}\n")
    print(f"model environment built in {time.time() - started:.0f} s: {root}", file=sys.stderr)


def main(argv) -> int:
    if len(argv) != 1 or argv[0] not in ("path", "create"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = environment_dir()
    if argv[0] == "create" and not os.path.exists(os.path.join(root, ".complete")):
        create(root)
    print(os.path.join(root, "bin", "python"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
