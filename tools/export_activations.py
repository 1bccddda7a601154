#!/usr/bin/env python3
"""Export a Hugging Face model's activations into a saescope activation cache.

Two modes:

  text corpus   one row per real token of every sequence (padding is never stored):
                python tools/export_activations.py MODEL --layer L --text corpus.txt --out acts.safetensors

  probe CSV     one row per CSV row: the activation at the LAST token of the statement,
                plus `labels` and the CSV's other boolean columns:
                python tools/export_activations.py MODEL --layer L --statements cities.csv --out cities.safetensors

See `--help` for every option, how layers are counted and what the files hold. The cache layout is
saescope's (docs/formats.md section 2): `acts [N, D]` (f32 / f16 / bf16), `tokens [N]` int64,
`seq_offsets [S+1]` int64 and `__metadata__` {model, hook, layer, tokenizer, bos_token_id,
eos_token_id, ...}, with the model's `tokenizer.json` copied beside it.

The code lives in the package tools/saescope_model (also `python -m saescope_model export ...`
with tools/ on PYTHONPATH); this file is its command line. Requirements: the pinned environment
`make model-env` creates (tools/requirements-model.txt).
Nothing is downloaded when MODEL is a local directory; a hub name is resolved by transformers as
usual (set HF_HUB_OFFLINE=1 to forbid any network access and use only the local cache).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from saescope_model.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
