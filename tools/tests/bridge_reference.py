"""Fixture and reference for saescope's Swift tests of `eval --model` (ModelBridgeTests).

    python tools/tests/bridge_reference.py DIR

Builds in DIR: a tiny random Llama (tiny-llama/), activation caches of its block 1 and block 0
(acts_l1.safetensors, acts_l0.safetensors, written by the exporter), a SAELens-layout ReLU
dictionary (sae/), and reference.json: every key of `eval --model --json`, computed here with
torch alone: the reconstruction in torch, spliced into the model with a forward hook on the
block, the clean run unhooked. Both BOS conventions (default and --patch-bos).
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from splice import spliced_log_probs  # noqa: E402
from tiny_models import CORPUS, llama_dir  # noqa: E402

LAYER = 1
D, F = 32, 96


def export(model, layer, out, text):
    from saescope_model.cli import main

    assert main([model, "--layer", str(layer), "--text", text, "--ctx", "12", "--out", out, "--quiet", "--threads", "1"]) == 0


def write_sae(root, d=D, f=F, name="sae", layer=LAYER):
    """A SAELens-layout ReLU dictionary of width d with f features: random unit decoder rows,
    the encoder their transpose times 1.2, small biases (seed 5)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(5)
    w_dec = rng.normal(0, 1, (f, d)).astype(np.float32)
    w_dec /= np.linalg.norm(w_dec, axis=1, keepdims=True)
    w_enc = np.ascontiguousarray(w_dec.T * 1.2, dtype=np.float32)  # save_file writes a view's buffer as is
    b_enc = rng.normal(-0.1, 0.05, f).astype(np.float32)
    b_dec = rng.normal(0, 0.05, d).astype(np.float32)
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    save_file({"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec}, os.path.join(path, "sae_weights.safetensors"))
    with open(os.path.join(path, "cfg.json"), "w") as fh:
        json.dump({"architecture": "standard", "d_in": d, "d_sae": f, "apply_b_dec_to_input": True,
                   "normalize_activations": "none", "hook_name": f"blocks.{layer}.hook_resid_post"}, fh)
    return path


# saescope runs the identity splice on its first request only: consecutive sequences whose count
# times the longest stays within this many tokens (ModelLossEvaluator.Options.firstBatchTokens).
FIRST_BATCH_TOKENS = 256


def first_batch(seqs):
    """How many sequences saescope's first request holds (at least one)."""
    count, longest = 1, len(seqs[0])
    while count < len(seqs) and max(longest, len(seqs[count])) * (count + 1) <= FIRST_BATCH_TOKENS:
        longest = max(longest, len(seqs[count]))
        count += 1
    return count


def reference(model_path, cache_path, sae, patch_bos):
    from safetensors.numpy import load_file
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    weights = {k: torch.from_numpy(v).double() for k, v in load_file(os.path.join(sae, "sae_weights.safetensors")).items()}
    w_enc, b_enc, w_dec, b_dec = (weights[k] for k in ("W_enc", "b_enc", "W_dec", "b_dec"))
    model = AutoModelForCausalLM.from_pretrained(model_path).eval()
    block = model.model.layers[LAYER]
    tensors = load_file(cache_path)
    with safe_open(cache_path, "np") as f:
        bos = int(f.metadata()["bos_token_id"])
    offsets, tokens, acts = tensors["seq_offsets"], tensors["tokens"], tensors["acts"]
    seqs = [tokens[a:b].tolist() for a, b in zip(offsets, offsets[1:])]
    masks = [np.array([patch_bos or t != 0 or s[0] != bos for t in range(len(s))]) for s in seqs]
    patched_rows = np.concatenate([acts[a:b][m] for (a, b), m in zip(zip(offsets, offsets[1:]), masks)])
    mean = torch.from_numpy(patched_rows.astype(np.float64).mean(0))

    def run(seq, replace=None):
        return spliced_log_probs(model, block, seq, replace)

    sums = {k: 0.0 for k in ("clean", "sae", "zero", "mean", "identity")}
    kls = {k: 0.0 for k in ("sae", "zero", "mean", "identity")}
    n = 0
    by_position = {}
    identity_sequences, identity_n = first_batch(seqs), 0
    for index, (seq, mask) in enumerate(zip(seqs, masks)):
        m = torch.from_numpy(mask)[:, None]

        def splice(values):
            return lambda h: torch.where(m, values(h), h)

        variants = {
            "sae": splice(lambda h: torch.relu((h - b_dec) @ w_enc + b_enc) @ w_dec + b_dec),
            "zero": splice(lambda h: torch.zeros_like(h)),
            "mean": splice(lambda h: mean.expand_as(h)),
            "identity": lambda h: h,
        }
        targets = torch.tensor(seq[1:])
        clean = run(seq)
        clean_nll = -clean[:-1].gather(-1, targets[:, None])[:, 0]
        sums["clean"] += clean_nll.sum().item()
        for name, replace in variants.items():
            if name == "identity" and index >= identity_sequences:
                continue
            logp = run(seq, replace)
            nll = -logp[:-1].gather(-1, targets[:, None])[:, 0]
            sums[name] += nll.sum().item()
            kls[name] += (clean[:-1].exp() * (clean[:-1] - logp[:-1])).sum(-1).sum().item()
            if name == "sae":
                for t in range(1, len(seq)):
                    entry = by_position.setdefault(t, [0.0, 0.0, 0])
                    entry[0] += clean_nll[t - 1].item()
                    entry[1] += nll[t - 1].item()
                    entry[2] += 1
        n += len(seq) - 1
        if index < identity_sequences:
            identity_n += len(seq) - 1
    ce = {k: v / (identity_n if k == "identity" else n) for k, v in sums.items()}
    kl = {k: v / (identity_n if k == "identity" else n) for k, v in kls.items()}
    return {
        "ce_clean": ce["clean"], "ce_with_sae": ce["sae"], "ce_zero_ablation": ce["zero"],
        "ce_mean_ablation": ce["mean"], "ce_identity_splice": ce["identity"],
        "loss_recovered": (ce["zero"] - ce["sae"]) / (ce["zero"] - ce["clean"]),
        "loss_recovered_mean_ablation": (ce["mean"] - ce["sae"]) / (ce["mean"] - ce["clean"]),
        "kl_with_sae": kl["sae"], "kl_zero_ablation": kl["zero"], "kl_mean_ablation": kl["mean"],
        "kl_score": (kl["zero"] - kl["sae"]) / kl["zero"], "n_predictions": n,
        "ce_by_position": [{"position": t, "ce_clean": c / k, "ce_with_sae": s / k, "n": k}
                           for t, (c, s, k) in sorted(by_position.items())],
    }


def main(root):
    os.makedirs(root, exist_ok=True)
    model = llama_dir(root)
    text = os.path.join(root, "corpus.txt")
    with open(text, "w", encoding="utf-8") as fh:
        fh.write("\n\n".join(CORPUS * 2))
    export(model, LAYER, os.path.join(root, "acts_l1.safetensors"), text)
    export(model, 0, os.path.join(root, "acts_l0.safetensors"), text)
    sae = write_sae(root)
    result = {
        "default": reference(model, os.path.join(root, "acts_l1.safetensors"), sae, patch_bos=False),
        "patch_bos": reference(model, os.path.join(root, "acts_l1.safetensors"), sae, patch_bos=True),
    }
    with open(os.path.join(root, "reference.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    print("ok")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(sys.argv[1])
