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

Requirements: tools/requirements-exporter.txt (torch, transformers, tokenizers, numpy, tqdm).
Nothing is downloaded when MODEL is a local directory; a hub name is resolved by transformers as
usual (set HF_HUB_OFFLINE=1 to forbid any network access and use only the local cache).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator, List, Optional, Sequence

EXPORTER_VERSION = "1"

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


# ------------------------------------------------------------------------------------------------
# Arguments
# ------------------------------------------------------------------------------------------------


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
    p.add_argument("model", help="Hugging Face hub name (e.g. gpt2) or local model directory")
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
    p.add_argument("--model-dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="dtype the model runs in (default float32)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--model-name", default=None,
                   help="name recorded in metadata (default: the MODEL argument as given)")
    p.add_argument("--trust-remote-code", action="store_true", help="passed to transformers")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    args = p.parse_args(argv)
    if args.layer is None and args.module is None:
        p.error("--layer is required (or --module NAME)")
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


# ------------------------------------------------------------------------------------------------
# Text sources
# ------------------------------------------------------------------------------------------------


def iter_documents(path: str, txt_split: str = "paragraph", text_field: str = "text") -> Iterator[str]:
    """Documents of a .txt (paragraphs or lines) or .jsonl (a text field per line) file, in order."""
    if path.endswith(".jsonl"):
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{number}: not valid JSON ({exc.msg})")
                if not isinstance(obj, dict) or not isinstance(obj.get(text_field), str):
                    raise SystemExit(f"{path}:{number}: no string field '{text_field}'")
                if obj[text_field].strip():
                    yield obj[text_field]
        return
    with open(path, encoding="utf-8-sig") as fh:
        if txt_split == "line":
            for line in fh:
                line = line.rstrip("\r\n")
                if line.strip():
                    yield line
            return
        paragraph: List[str] = []
        for line in fh:
            line = line.rstrip("\r\n")
            if line.strip():
                paragraph.append(line)
            elif paragraph:
                yield "\n".join(paragraph)
                paragraph = []
        if paragraph:
            yield "\n".join(paragraph)


# ------------------------------------------------------------------------------------------------
# Safetensors writing (streamed, so memory stays bounded by one batch)
# ------------------------------------------------------------------------------------------------

DTYPE_NAMES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
DTYPE_SIZES = {"f32": 4, "f16": 2, "bf16": 2}


def _header_bytes(tensors: list, metadata: dict) -> bytes:
    """tensors: [(name, dtype_name, shape, nbytes)] in data order."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    offset = 0
    for name, dtype_name, shape, nbytes in tensors:
        header[name] = {"dtype": dtype_name, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    return json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class StreamingSafetensorsWriter:
    """Writes one safetensors file whose first tensor (`acts [N, D]`) is appended row block by row
    block, followed by small int64 tensors known only at the end. The header is reserved up front
    and rewritten (padded with spaces, which the format allows) when the file is closed."""

    RESERVE = 1024

    def __init__(self, path: str, dim: int, dtype: str, metadata: dict, extra_names: Sequence[str] = ()):
        self.path = path
        self.tmp_path = path + ".partial"
        self.dim = dim
        self.dtype = dtype
        self.rows = 0
        big = 10**15  # wider than any row count or byte offset the final header will hold
        probe = _header_bytes([("acts", DTYPE_NAMES[dtype], [big, dim], big)]
                              + [(name, "I64", [big], big) for name in extra_names], metadata)
        self.reserved = (len(probe) + self.RESERVE + 7) // 8 * 8
        self.fh = open(self.tmp_path, "wb")
        self.fh.write(b"\0" * (8 + self.reserved))

    def append(self, rows_bytes: bytes, n_rows: int) -> None:
        self.fh.write(rows_bytes)
        self.rows += n_rows

    def close(self, extra: list, metadata: dict) -> None:
        """extra: [(name, numpy int64 array)] appended after acts."""
        tensors = [("acts", DTYPE_NAMES[self.dtype], [self.rows, self.dim], self.rows * self.dim * DTYPE_SIZES[self.dtype])]
        for name, array in extra:
            data = array.astype("<i8").tobytes()
            self.fh.write(data)
            tensors.append((name, "I64", list(array.shape), len(data)))
        header = _header_bytes(tensors, metadata)
        if len(header) > self.reserved:
            raise RuntimeError("safetensors header outgrew its reserved space (metadata too large)")
        self.fh.seek(0)
        self.fh.write(struct.pack("<Q", self.reserved))
        self.fh.write(header + b" " * (self.reserved - len(header)))
        self.fh.close()
        os.replace(self.tmp_path, self.path)

    def abort(self) -> None:
        try:
            self.fh.close()
        finally:
            if os.path.exists(self.tmp_path):
                os.remove(self.tmp_path)


def to_storage_bytes(array_f32, dtype: str) -> bytes:
    """numpy float32 [n, D] -> little-endian bytes of the storage dtype (bf16 rounds to nearest even)."""
    import numpy as np

    a = np.ascontiguousarray(array_f32, dtype=np.float32)
    if dtype == "f32":
        return a.astype("<f4").tobytes()
    if dtype == "f16":
        return a.astype("<f2").tobytes()
    import torch

    return torch.from_numpy(a).to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()


# ------------------------------------------------------------------------------------------------
# Model, tokenizer and the activation site
# ------------------------------------------------------------------------------------------------


class _StopForward(Exception):
    """Raised by the capture hook so the model does not compute the layers after the stored one."""


@dataclass
class Site:
    module_name: str          # module whose output (or, for embeddings, input) is captured
    use_input: bool           # True: capture the input of module_name (the embeddings case)
    layer: str                # recorded in metadata
    description: str          # human-readable


def find_block_list(model) -> tuple:
    """The model's list of transformer blocks: (name, ModuleList)."""
    import torch

    config = getattr(model, "config", None)
    n_layers = None
    for cfg in (config, getattr(config, "text_config", None)):
        if cfg is None:
            continue
        for key in ("num_hidden_layers", "n_layer", "num_layers", "n_layers"):
            if isinstance(getattr(cfg, key, None), int):
                n_layers = getattr(cfg, key)
                break
        if n_layers is not None:
            break
    candidates = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0:
            classes = {type(child) for child in module}
            if len(classes) == 1 and (n_layers is None or len(module) == n_layers):
                candidates.append((name, module))
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(name for name, _ in candidates) or "none"
    raise SystemExit(
        f"cannot tell which module list holds the transformer blocks (candidates: {names}); "
        "name the module to hook with --module"
    )


def resolve_site(model, layer: Optional[str], module: Optional[str]) -> Site:
    if module is not None:
        names = dict(model.named_modules())
        if module not in names:
            raise SystemExit(f"--module {module}: no such submodule (see model.named_modules())")
        return Site(module, False, str(layer) if layer is not None else "", f"output of {module}")
    blocks_name, blocks = find_block_list(model)
    prefix = f"{blocks_name}." if blocks_name else ""
    if str(layer).lower() in ("embeddings", "embed", "emb"):
        return Site(f"{prefix}0", True, "embeddings",
                    f"residual stream before block 0 (embedding output, input of {prefix}0; hidden_states[0])")
    try:
        index = int(layer)
    except ValueError:
        raise SystemExit(f"--layer {layer}: expected an integer or 'embeddings'")
    n = len(blocks)
    if index < 0:
        index += n
    if not 0 <= index < n:
        raise SystemExit(f"--layer {layer}: the model has {n} blocks (0 ..< {n})")
    return Site(f"{prefix}{index}", False, str(index),
                f"residual stream after block {index} (output of {prefix}{index}; "
                f"hidden_states[{index + 1}], hidden_states[0] being the embeddings)")


class Capture:
    """Registers a hook that stores the site's tensor [B, T, D] and stops the forward pass."""

    def __init__(self, model, site: Site):
        self.model = model
        self.value = None
        module = model.get_submodule(site.module_name)
        if site.use_input:
            self.handle = module.register_forward_pre_hook(self._pre_hook, with_kwargs=True)
        else:
            self.handle = module.register_forward_hook(self._hook)

    def _pre_hook(self, module, args, kwargs):
        value = args[0] if args else kwargs.get("hidden_states")
        if value is None:
            raise RuntimeError("could not find the hidden states among the block's inputs")
        self.value = value
        raise _StopForward()

    def _hook(self, module, args, output):
        self.value = output[0] if isinstance(output, (tuple, list)) else output
        raise _StopForward()

    def run(self, **inputs):
        import torch

        self.value = None
        try:
            with torch.no_grad():
                self.model(**inputs)
        except _StopForward:
            pass
        if self.value is None:
            raise RuntimeError("the hooked module did not run during the forward pass")
        value = self.value
        self.value = None
        return value


@dataclass
class SpecialTokens:
    prefix: List[int] = field(default_factory=list)
    suffix: List[int] = field(default_factory=list)
    bos_token_id: Optional[int] = None
    eos_token_id: Optional[int] = None


def special_tokens(tokenizer, mode: str) -> SpecialTokens:
    """The ids the tokenizer adds around a text (found by encoding a probe text with and without
    special tokens), adjusted by --prepend-bos."""
    if mode == "never":
        return SpecialTokens()
    probe = "hello world"
    plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    prefix: List[int] = []
    suffix: List[int] = []
    for i in range(len(full) - len(plain) + 1):
        if full[i : i + len(plain)] == plain:
            prefix, suffix = list(full[:i]), list(full[i + len(plain) :])
            break
    else:
        print("warning: cannot tell which special tokens the tokenizer adds (the text's ids change with "
              "add_special_tokens); sequences get none unless --prepend-bos always", file=sys.stderr)
    bos = getattr(tokenizer, "bos_token_id", None)
    if mode == "always" and bos is not None and (not prefix or prefix[0] != bos):
        prefix = [bos] + prefix
    if mode == "always" and bos is None and not prefix:
        raise SystemExit("--prepend-bos always: the tokenizer has no BOS token")
    eos = getattr(tokenizer, "eos_token_id", None)
    if eos is None and suffix:
        eos = suffix[-1]  # e.g. BERT's [SEP]
    return SpecialTokens(prefix, suffix, prefix[0] if prefix else bos, eos)


def load_model_and_tokenizer(args):
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.model_dtype]
    tokenizer = AutoTokenizer.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
    major_minor = tuple(int(part) for part in transformers.__version__.split(".")[:2])
    dtype_key = "dtype" if major_minor >= (4, 56) else "torch_dtype"  # renamed in transformers 4.56
    model = AutoModel.from_pretrained(args.model, trust_remote_code=args.trust_remote_code, **{dtype_key: dtype})
    model.eval().to(device)
    # Documents longer than the model's maximum are tokenized whole and then split by --ctx;
    # silence the tokenizer's "sequence length is longer than the maximum" warning about that.
    transformers.utils.logging.set_verbosity_error()
    limit = getattr(tokenizer, "model_max_length", None)
    if args.text is not None and isinstance(limit, int) and limit < 10**6 and args.ctx > limit:
        raise SystemExit(f"--ctx {args.ctx} exceeds the model's maximum sequence length {limit}")
    return model, tokenizer, device


def write_tokenizer_json(tokenizer, model_ref: str, out_dir: str) -> str:
    """Copies the model's tokenizer.json beside the output (or serialises the loaded fast tokenizer
    when the model directory has none). Returns the file name recorded in metadata."""
    name = "tokenizer.json"
    dest = os.path.join(out_dir, name)
    source = os.path.join(model_ref, "tokenizer.json")
    if os.path.isfile(source):
        if not (os.path.exists(dest) and os.path.samefile(source, dest)):
            shutil.copyfile(source, dest)
        return name
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise SystemExit("the tokenizer has no tokenizer.json (not a fast tokenizer): saescope needs one for token display")
    backend.save(dest)
    return name


def base_metadata(args, site: Site, special: SpecialTokens, tokenizer_name: str, source: str) -> dict:
    import torch
    import transformers

    meta = {
        "model": args.model_name or args.model,
        "hook": site.module_name,
        "layer": site.layer,
        "tokenizer": tokenizer_name,
    }
    if special.bos_token_id is not None:
        meta["bos_token_id"] = str(special.bos_token_id)
    if special.eos_token_id is not None:
        meta["eos_token_id"] = str(special.eos_token_id)
    meta.update({
        "site": site.description,
        "prefix_token_ids": json.dumps(special.prefix),
        "suffix_token_ids": json.dumps(special.suffix),
        "dtype": args.dtype,
        "source": os.path.basename(source),
        "exporter": f"saescope tools/export_activations.py v{EXPORTER_VERSION}",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
    })
    return meta


# ------------------------------------------------------------------------------------------------
# Running sequences through the model
# ------------------------------------------------------------------------------------------------


def run_batches(capture: Capture, sequences: List[List[int]], pad_id: int, device: str, batch_tokens: int):
    """Runs token sequences through the model in length-sorted, right-padded batches and yields
    (index, float32 numpy [len, D]) for every sequence, in any order."""
    import numpy as np
    import torch

    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
    start = 0
    while start < len(order):
        longest = len(sequences[order[start]])
        count = max(1, batch_tokens // max(1, longest))
        batch = order[start : start + count]
        start += len(batch)
        ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), longest), dtype=torch.long)
        for row, index in enumerate(batch):
            seq = sequences[index]
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        hidden = capture.run(input_ids=ids.to(device), attention_mask=mask.to(device))
        hidden = hidden.detach().to(torch.float32).cpu().numpy()
        for row, index in enumerate(batch):
            yield index, np.ascontiguousarray(hidden[row, : len(sequences[index])])


def pad_token_id(tokenizer) -> int:
    for candidate in (getattr(tokenizer, "pad_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if candidate is not None:
            return int(candidate)
    return 0  # masked out by the attention mask and never stored


def iter_sequences(documents: Iterable[str], tokenizer, special: SpecialTokens, ctx: int, overflow: str) -> Iterator[List[int]]:
    body = ctx - len(special.prefix) - len(special.suffix)
    if body <= 0:
        raise SystemExit(f"--ctx {ctx} leaves no room for text after the special tokens")
    for text in documents:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            continue
        for start in range(0, len(ids), body):
            yield special.prefix + list(ids[start : start + body]) + special.suffix
            if overflow == "truncate":
                break


class ShardedOutput:
    """Routes sequences to one file or to a directory of shards of at most shard_rows rows."""

    def __init__(self, out: str, dim: int, dtype: str, metadata: dict, shard_rows: Optional[int]):
        self.single = out.endswith(".safetensors")
        self.out = out
        self.dim = dim
        self.dtype = dtype
        self.metadata = metadata
        self.shard_rows = shard_rows
        self.writer: Optional[StreamingSafetensorsWriter] = None
        self.shard_index = 0
        self.tokens: List[int] = []
        self.offsets: List[int] = [0]
        self.total_rows = 0
        self.total_sequences = 0
        self.paths: List[str] = []

    def _open(self):
        if self.single:
            path = self.out
        else:
            path = os.path.join(self.out, f"shard_{self.shard_index:05d}.safetensors")
        # Reserve header room for the largest values the per-shard keys can take.
        placeholder = dict(self.metadata, n_tokens=str(10**15), n_sequences=str(10**15),
                           shard_index=str(10**15), first_row=str(10**15))
        self.writer = StreamingSafetensorsWriter(path, self.dim, self.dtype, placeholder, ["tokens", "seq_offsets"])
        self.tokens, self.offsets = [], [0]

    def add(self, tokens: List[int], acts_f32) -> None:
        if self.writer is not None and not self.single and self.writer.rows + len(tokens) > self.shard_rows:
            self._close_shard()
        if self.writer is None:
            self._open()
        self.writer.append(to_storage_bytes(acts_f32, self.dtype), len(tokens))
        self.tokens.extend(tokens)
        self.offsets.append(self.offsets[-1] + len(tokens))
        self.total_rows += len(tokens)
        self.total_sequences += 1

    def _close_shard(self):
        import numpy as np

        rows = self.writer.rows
        meta = dict(self.metadata)
        meta["n_tokens"] = str(rows)
        meta["n_sequences"] = str(len(self.offsets) - 1)
        if not self.single:
            meta["shard_index"] = str(self.shard_index)
            meta["first_row"] = str(self.total_rows - rows)
        self.writer.close([("tokens", np.asarray(self.tokens, dtype=np.int64)),
                           ("seq_offsets", np.asarray(self.offsets, dtype=np.int64))], meta)
        self.paths.append(self.writer.path)
        self.writer = None
        self.shard_index += 1

    def finish(self) -> List[str]:
        if self.writer is not None:
            self._close_shard()
        return self.paths

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()


def export_text(args) -> List[str]:
    import numpy as np
    from tqdm import tqdm

    model, tokenizer, device = load_model_and_tokenizer(args)
    site = resolve_site(model, args.layer, args.module)
    special = special_tokens(tokenizer, args.prepend_bos)
    capture = Capture(model, site)
    out_dir = os.path.dirname(os.path.abspath(args.out)) if args.out.endswith(".safetensors") else args.out
    os.makedirs(out_dir, exist_ok=True)
    if not args.out.endswith(".safetensors"):
        stale = [n for n in os.listdir(out_dir) if n.startswith("shard_") and n.endswith(".safetensors")]
        if stale:
            raise SystemExit(f"{out_dir} already holds shard files; remove them or choose another --out")
    tokenizer_name = write_tokenizer_json(tokenizer, args.model, out_dir)
    meta = base_metadata(args, site, special, tokenizer_name, args.text)
    meta["ctx"] = str(args.ctx)
    meta["overflow"] = args.overflow
    dim = None
    output = None
    pad_id = pad_token_id(tokenizer)
    bar = tqdm(total=args.max_tokens, unit="tok", desc="export", disable=args.quiet, dynamic_ncols=True)
    started = time.time()
    overflow_count = 0

    def flush(window: List[List[int]]):
        nonlocal dim, output, overflow_count
        if not window:
            return
        results = {}
        for index, acts in run_batches(capture, window, pad_id, device, args.batch_tokens):
            results[index] = acts
        for index, seq in enumerate(window):
            acts = results.pop(index)
            if dim is None:
                dim = acts.shape[1]
                output = ShardedOutput(args.out, dim, args.dtype, meta, args.shard_tokens or 1_000_000)
            if args.dtype == "f16":
                overflow_count += int(np.count_nonzero(np.abs(acts) > 65504.0))
            output.add(seq, acts)
            bar.update(len(seq))

    try:
        window: List[List[int]] = []
        window_tokens = 0
        total = 0
        documents = iter_documents(args.text, args.txt_split, args.text_field)
        for seq in iter_sequences(documents, tokenizer, special, args.ctx, args.overflow):
            if args.max_tokens is not None:
                room = args.max_tokens - total
                if room <= 0:
                    break
                seq = seq[:room]
            window.append(seq)
            window_tokens += len(seq)
            total += len(seq)
            if window_tokens >= 4 * args.batch_tokens:  # sort a few batches' worth by length
                flush(window)
                window, window_tokens = [], 0
        flush(window)
        if output is None:
            raise SystemExit(f"{args.text}: no text to export")
        paths = output.finish()
    except BaseException:
        if output is not None:
            output.abort()
        raise
    finally:
        bar.close()
    if overflow_count:
        print(f"warning: {overflow_count} values exceeded the float16 range and were stored as infinity; "
              "saescope skips those rows. Use --dtype bf16 or f32.", file=sys.stderr)
    if not args.quiet:
        elapsed = time.time() - started
        print(f"wrote {output.total_rows} tokens in {output.total_sequences} sequences, D={dim}, "
              f"{args.dtype}, {len(paths)} file(s) under {out_dir} ({elapsed:.1f} s)", file=sys.stderr)
    return paths


# ------------------------------------------------------------------------------------------------
# Statements (probe datasets)
# ------------------------------------------------------------------------------------------------

TRUE_WORDS = {"1", "true", "t", "yes", "y", "1.0"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "0.0"}


def parse_bool(text: str) -> Optional[int]:
    value = text.strip().lower()
    if value in TRUE_WORDS:
        return 1
    if value in FALSE_WORDS:
        return 0
    return None


def read_statements_csv(path: str, statement_column: str, label_column: str):
    """Returns (statements, {column: [0/1]} for label and every boolean column, skipped columns)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise SystemExit(f"{path}: empty CSV")
        columns = list(reader.fieldnames)
        for needed in (statement_column, label_column):
            if needed not in columns:
                raise SystemExit(f"{path}: no '{needed}' column (columns: {', '.join(columns)})")
        rows = list(reader)
    statements = []
    for number, row in enumerate(rows, 2):
        if row.get(statement_column) is None or None in row:
            raise SystemExit(f"{path}: record {number - 1} (from line {number} on) has a different number of fields than the header")
        statements.append(row[statement_column])
    booleans = {}
    skipped = []
    for column in columns:
        if column == statement_column:
            continue
        values = [parse_bool(row[column] or "") for row in rows]
        if all(v is not None for v in values):
            booleans[column] = values
        elif column == label_column:
            bad = next(i for i, v in enumerate(values) if v is None)
            raise SystemExit(f"{path}: record {bad + 1}: label '{rows[bad][column]}' is not a boolean (0/1, true/false, yes/no)")
        else:
            skipped.append(column)
    return statements, booleans, skipped


def export_statements(args) -> List[str]:
    import numpy as np
    from tqdm import tqdm

    statements, booleans, skipped = read_statements_csv(args.statements, args.statement_column, args.label_column)
    if not statements:
        raise SystemExit(f"{args.statements}: no rows")
    reserved = {"acts", "labels", "last_token_id"}
    for column in booleans:
        if column != args.label_column and column in reserved:
            raise SystemExit(f"{args.statements}: column '{column}' clashes with a tensor name; rename it")
    model, tokenizer, device = load_model_and_tokenizer(args)
    site = resolve_site(model, args.layer, args.module)
    special = special_tokens(tokenizer, args.prepend_bos)
    capture = Capture(model, site)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    tokenizer_name = write_tokenizer_json(tokenizer, args.model, out_dir)
    csv_copy = os.path.join(out_dir, os.path.basename(args.statements))
    if not (os.path.exists(csv_copy) and os.path.samefile(args.statements, csv_copy)):
        shutil.copyfile(args.statements, csv_copy)

    max_len = getattr(tokenizer, "model_max_length", None)
    if not isinstance(max_len, int) or max_len > 10**6:
        max_len = None
    sequences, positions, last_ids = [], [], []
    for number, text in enumerate(statements, 1):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            raise SystemExit(f"{args.statements}: record {number}: the statement tokenizes to nothing")
        seq = special.prefix + list(ids) + special.suffix
        if max_len is not None and len(seq) > max_len:
            raise SystemExit(f"{args.statements}: record {number}: {len(seq)} tokens exceed the model's {max_len}")
        sequences.append(seq)
        positions.append(len(special.prefix) + len(ids) - 1)
        last_ids.append(seq[positions[-1]])

    dim = None
    acts = None
    bar = tqdm(total=len(sequences), unit="row", desc="statements", disable=args.quiet, dynamic_ncols=True)
    for index, hidden in run_batches(capture, sequences, pad_token_id(tokenizer), device, args.batch_tokens):
        if acts is None:
            dim = hidden.shape[1]
            acts = np.zeros((len(sequences), dim), dtype=np.float32)
        acts[index] = hidden[positions[index]]
        bar.update(1)
    bar.close()

    meta = base_metadata(args, site, special, tokenizer_name, args.statements)
    meta.update({
        "csv": os.path.basename(args.statements),
        "statement_column": args.statement_column,
        "label_column": args.label_column,
        "boolean_columns": json.dumps([c for c in booleans if c != args.label_column]),
        "position": "last token of the statement (before any special token the tokenizer appends)",
        "n_rows": str(len(sequences)),
    })
    extra = [("labels", np.asarray(booleans[args.label_column], dtype=np.int64))]
    for column, values in booleans.items():
        if column != args.label_column:
            extra.append((column, np.asarray(values, dtype=np.int64)))
    extra.append(("last_token_id", np.asarray(last_ids, dtype=np.int64)))
    writer = StreamingSafetensorsWriter(args.out, dim, args.dtype, meta, [name for name, _ in extra])
    try:
        writer.append(to_storage_bytes(acts, args.dtype), len(sequences))
        writer.close(extra, meta)
    except BaseException:
        writer.abort()
        raise
    if not args.quiet:
        note = f"; non-boolean columns left out: {', '.join(skipped)}" if skipped else ""
        print(f"wrote {len(sequences)} rows, D={dim}, {args.dtype}, labels + {len(booleans) - 1} boolean column(s) "
              f"to {args.out}{note}", file=sys.stderr)
    return [args.out]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"the exporter needs torch and transformers ({exc}); "
                         "pip install -r tools/requirements-exporter.txt")
    if args.statements is not None:
        export_statements(args)
    else:
        export_text(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
