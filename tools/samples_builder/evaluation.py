"""Measuring the dictionaries: dictionary_learning's own evaluate() on the sample rows, and
saescope's `eval --json` (reconstruction) and `eval --model --json` (CE loss recovered) when a
saescope binary is at hand."""

import json
import subprocess

from .log import log


# dictionary_learning evaluate() key -> saescope key, for the keys whose definitions agree
SAME_DEFINITION = {
    "l1_loss": "l1",
    "l0": "l0",
    "frac_variance_explained": "explained_variance_dictionary_learning",
    "cossim": "cos_sim",
    "l2_ratio": "l2_ratio",
    "relative_reconstruction_bias": "relative_reconstruction_bias",
    "frac_alive": "frac_alive",
}


def dl_evaluate(ae, acts):
    """dictionary_learning.evaluation.evaluate with every sample token in one batch (a plain iterator,
    so the loss-recovered part, which needs the language model, is skipped)."""
    from dictionary_learning.evaluation import evaluate

    out = evaluate(ae, iter([acts]), device="cpu", n_batches=1)
    return {key: float(value) for key, value in out.items()}



def saescope_eval(binary, sae_path, acts_path, model=None, max_tokens=None):
    """saescope eval --json on the sample (with --model: the CE keys too, over the first max_tokens
    rows), or None without a binary."""
    import os

    if binary is None or not os.path.isfile(binary):
        return None
    cmd = [binary, "eval", "--sae", sae_path, "--acts", acts_path, "--json"]
    if model is not None:
        cmd += ["--model", model]
    if max_tokens is not None:
        cmd += ["--max-tokens", str(max_tokens)]
    log("running " + " ".join(cmd[1:]))
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        log(f"saescope eval failed on {sae_path}: {result.stderr.strip()}")
        return None
    return json.loads(result.stdout)
