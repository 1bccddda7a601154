"""The exporter's command line: `python -m saescope_model export ...` and tools/export_activations.py."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .loading import DTYPES

DESCRIPTION = """\
Write a saescope activation cache from a Hugging Face model (a hub name or a local directory).

WHAT IS STORED
  By default the residual stream after transformer block L: the output of block L of the model's
  list of blocks (e.g. `encoder.layer.L` for BERT, `h.L` for GPT-2, `layers.L` for Llama / Pythia),
  read with a forward hook. Layers are counted from 0: --layer 0 is the output of the first block,
  i.e. hidden_states[L+1] of `output_hidden_states=True`, where hidden_states[0] is the embedding
  output (--layer embeddings). One difference: for the LAST block of models that apply a final
  norm to hidden_states[-1] (GPT-2, Llama, ...), hidden_states[-1] is post-norm while this exporter
  stores the block's own (pre-norm) output, as SAE training libraries hook it. BERT-style models
  apply LayerNorm inside each block, so their block output is already normalised.
  --module NAME stores the output of any other submodule instead (e.g. `h.3.mlp`).

TEXT MODE (--text)
  .txt files: one document per paragraph, paragraphs separated by one or more blank lines
  (--txt-split line: one document per non-empty line). Line breaks inside a paragraph are kept.
  .jsonl files: one JSON object per line, the document in its "text" field (--text-field).
  Each document is tokenized with the tokenizer's own special tokens (BERT: [CLS] ... [SEP];
  Llama: <s> ...; GPT-2: none unless --prepend-bos always) and cut into consecutive sequences of at
  most --ctx tokens, special tokens included (--overflow truncate keeps only the first).
  Special tokens are real rows of the cache (BOS kept); padding never is.
  Writes `acts [N, D]`, `tokens [N]` (int64 ids), `seq_offsets [S+1]` (sequence s is rows
  seq_offsets[s] ..< seq_offsets[s+1]) and metadata; copies tokenizer.json beside the output.
  Metadata (strings): model, hook (the hooked module's name), layer, tokenizer ("tokenizer.json"),
  bos_token_id (the first token the tokenizer prepends, e.g. BERT's [CLS]), eos_token_id (the
  tokenizer's EOS, else the last appended token, e.g. [SEP]), site, prefix_token_ids,
  suffix_token_ids, ctx, dtype, source, n_tokens, n_sequences, library versions.
  --target-layer L / --target-module NAME also stores a second site as `targets [N, D_out]` (same
  rows, same dtype; metadata target_hook, target_layer, target_site): a transcoder's input is
  `acts`, its target `targets`.
  --out ending in .safetensors writes one file; any other --out is a directory that receives
  shard_00000.safetensors, shard_00001.safetensors, ... of at most --shard-tokens rows each
  (sequences never straddle shards). saescope reads either.

STATEMENT MODE (--statements CSV)
  One row per CSV row (RFC 4180, read with Python's csv module: quoted fields, embedded commas
  and newlines, CRLF, UTF-8 with or without BOM): the activation at the last token of the
  statement text (the final period, before any special token the tokenizer appends).
  Writes `acts [n, D]`, `labels [n]` (int64 0/1 from the label column), one int64 tensor per other
  boolean column (values 0/1, true/false, yes/no, t/f, y/n, any case), `last_token_id [n]`, and
  metadata, into one .safetensors file; copies the CSV and tokenizer.json beside it.
"""

EPILOG = """\
examples:
  %(prog)s gpt2 --layer 6 --text corpus.txt --ctx 128 --max-tokens 1000000 --dtype f16 --out gpt2_l6/
  %(prog)s ./my-local-model --layer 3 --text docs.jsonl --out acts.safetensors
  %(prog)s EleutherAI/pythia-70m --layer 3 --statements cities.csv --out probes/cities.safetensors
then:
  saescope eval --sae my_sae/ --acts gpt2_l6/
"""


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="export_activations.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="Hugging Face hub name (e.g. gpt2), local model directory, or GGUF file")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", metavar="FILE", help="text corpus: .txt (paragraphs) or .jsonl")
    src.add_argument("--statements", metavar="CSV", help="probe dataset CSV with statement,label columns")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="output: a .safetensors file, or (text mode) a directory of shards")
    p.add_argument("--layer", default=None, metavar="L",
                   help="block index counted from 0 (negative counts from the end: -1 = last block), "
                        "or 'embeddings' for the input of block 0; required unless --module is given")
    p.add_argument("--module", default=None, metavar="NAME",
                   help="store the output of this submodule (a name from model.named_modules()) instead "
                        "of the residual stream after block L; --layer is then only recorded in metadata")
    p.add_argument("--target-layer", default=None, metavar="L",
                   help="also store the residual stream after block L (as --layer) as `targets`, row for row "
                        "beside `acts`: what a transcoder reading `acts` must reconstruct (saescope eval measures "
                        "a transcoder against it)")
    p.add_argument("--target-module", default=None, metavar="NAME",
                   help="store this submodule's output as `targets` instead (e.g. h.3.mlp for an MLP "
                        "transcoder whose input is --module h.3.ln_2)")
    p.add_argument("--ctx", type=positive_int, default=128,
                   help="maximum tokens per sequence, special tokens included (default 128)")
    p.add_argument("--overflow", choices=["split", "truncate"], default="split",
                   help="documents longer than --ctx: split into consecutive sequences (default) or keep the first")
    p.add_argument("--max-tokens", type=positive_int, default=None, metavar="N",
                   help="stop after exactly N rows (the last sequence is cut before it is run)")
    p.add_argument("--dtype", choices=["f16", "bf16", "f32"], default="f32",
                   help="storage type of acts (default f32; f16 halves the size, bf16 keeps the range)")
    p.add_argument("--shard-tokens", type=positive_int, default=None, metavar="N",
                   help="rows per shard when --out is a directory (default 1000000)")
    p.add_argument("--txt-split", choices=["paragraph", "line"], default="paragraph",
                   help=".txt documents: blank-line separated paragraphs (default) or one per line")
    p.add_argument("--text-field", default="text", help='.jsonl field holding the document (default "text")')
    p.add_argument("--statement-column", default="statement", help='CSV column with the text (default "statement")')
    p.add_argument("--label-column", default="label", help='CSV column with the 0/1 truth label (default "label")')
    p.add_argument("--prepend-bos", choices=["auto", "always", "never"], default="auto",
                   help="auto: the special tokens the tokenizer itself adds; always: also prepend the BOS "
                        "token when the tokenizer does not (e.g. GPT-2); never: no special tokens at all")
    p.add_argument("--batch-tokens", type=positive_int, default=8192,
                   help="padded tokens per forward pass (default 8192); lower it if memory runs out")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    p.add_argument("--model-dtype", choices=list(DTYPES), default="float32",
                   help="dtype the model runs in (default float32)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--model-name", default=None,
                   help="name recorded in metadata (default: the MODEL argument as given)")
    p.add_argument("--trust-remote-code", action="store_true", help="passed to transformers")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    args = p.parse_args(argv)
    if args.layer is None and args.module is None:
        p.error("--layer is required (or --module NAME)")
    if args.statements is not None and (args.target_layer is not None or args.target_module is not None):
        p.error("--target-layer / --target-module apply to --text only")
    if args.statements is not None:
        if not args.out.endswith(".safetensors"):
            p.error("--statements writes one file: --out must end in .safetensors")
        if args.shard_tokens is not None or args.max_tokens is not None:
            p.error("--shard-tokens and --max-tokens apply to --text only")
    else:
        if args.out.endswith(".safetensors") and args.shard_tokens is not None:
            p.error("--shard-tokens needs --out to be a directory (a path not ending in .safetensors)")
        if args.shard_tokens is not None and args.shard_tokens < args.ctx:
            p.error("--shard-tokens must be at least --ctx")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"the exporter needs torch and transformers ({exc}); "
                         "pip install -r tools/requirements-exporter.txt")
    if args.statements is not None:
        from .statements import export_statements

        export_statements(args)
    else:
        from .cache_writer import export_text

        export_text(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
