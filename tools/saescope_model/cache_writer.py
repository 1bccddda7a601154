"""Writing saescope activation caches (text mode): documents -> token sequences -> the hooked
activations -> safetensors files streamed to disk (one file, or a directory of shards).

The layout is saescope's (docs/formats.md section 2): `acts [N, D]` (f32 / f16 / bf16),
`tokens [N]` int64, `seq_offsets [S+1]` int64 and `__metadata__` {model, hook, layer, tokenizer,
bos_token_id, eos_token_id, ...}, with the model's `tokenizer.json` copied beside it. With
--target-layer / --target-module, `targets [N, D_out]` (same rows, same dtype) holds a second
site: what a transcoder reading `acts` must reconstruct (metadata target_hook, target_layer).
"""

from __future__ import annotations

import json
import os
import struct
import sys
import time
from typing import Iterable, Iterator, List, Optional, Sequence

from .hooks import Capture, Site, resolve_site
from .loading import SpecialTokens, load_model_and_tokenizer, pad_token_id, special_tokens, write_tokenizer_json

EXPORTER_VERSION = "1"


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
    block, then `targets [N, D_out]` when `target_dim` is given (streamed to a side file and copied
    in at the end), followed by small int64 tensors known only at the end. The header is reserved
    up front and rewritten (padded with spaces, which the format allows) when the file is closed."""

    RESERVE = 1024

    def __init__(self, path: str, dim: int, dtype: str, metadata: dict, extra_names: Sequence[str] = (),
                 target_dim: Optional[int] = None):
        self.path = path
        self.tmp_path = path + ".partial"
        self.target_path = path + ".targets.partial"
        self.dim = dim
        self.target_dim = target_dim
        self.dtype = dtype
        self.rows = 0
        big = 10**15  # wider than any row count or byte offset the final header will hold
        probe = _header_bytes([("acts", DTYPE_NAMES[dtype], [big, dim], big)]
                              + ([("targets", DTYPE_NAMES[dtype], [big, target_dim], big)] if target_dim else [])
                              + [(name, "I64", [big], big) for name in extra_names], metadata)
        self.reserved = (len(probe) + self.RESERVE + 7) // 8 * 8
        self.fh = open(self.tmp_path, "wb")
        self.fh.write(b"\0" * (8 + self.reserved))
        self.target_fh = open(self.target_path, "wb") if target_dim else None

    def append(self, rows_bytes: bytes, n_rows: int, target_bytes: Optional[bytes] = None) -> None:
        if (target_bytes is None) != (self.target_fh is None):
            raise RuntimeError("targets must come with every block of rows, or with none")
        self.fh.write(rows_bytes)
        if self.target_fh is not None:
            self.target_fh.write(target_bytes)
        self.rows += n_rows

    def close(self, extra: list, metadata: dict) -> None:
        """extra: [(name, numpy int64 array)] appended after acts (and targets)."""
        import shutil

        size = DTYPE_SIZES[self.dtype]
        tensors = [("acts", DTYPE_NAMES[self.dtype], [self.rows, self.dim], self.rows * self.dim * size)]
        if self.target_fh is not None:
            self.target_fh.close()
            with open(self.target_path, "rb") as side:
                shutil.copyfileobj(side, self.fh, 1 << 20)
            os.remove(self.target_path)
            tensors.append(("targets", DTYPE_NAMES[self.dtype], [self.rows, self.target_dim], self.rows * self.target_dim * size))
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
            if self.target_fh is not None:
                self.target_fh.close()
        finally:
            for path in (self.tmp_path, self.target_path):
                if os.path.exists(path):
                    os.remove(path)


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



def run_batches(capture: Capture, sequences: List[List[int]], pad_id: int, device: str, batch_tokens: int):
    """Runs token sequences through the model in length-sorted, right-padded batches and yields
    (index, [float32 numpy [len, D] per captured site]) for every sequence, in any order."""
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
        sites = [h.detach().to(torch.float32).cpu().numpy()
                 for h in capture.run_all(input_ids=ids.to(device), attention_mask=mask.to(device))]
        for row, index in enumerate(batch):
            yield index, [np.ascontiguousarray(h[row, : len(sequences[index])]) for h in sites]


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

    def __init__(self, out: str, dim: int, dtype: str, metadata: dict, shard_rows: Optional[int],
                 target_dim: Optional[int] = None):
        self.single = out.endswith(".safetensors")
        self.out = out
        self.dim = dim
        self.target_dim = target_dim
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
        self.writer = StreamingSafetensorsWriter(path, self.dim, self.dtype, placeholder, ["tokens", "seq_offsets"],
                                                 target_dim=self.target_dim)
        self.tokens, self.offsets = [], [0]

    def add(self, tokens: List[int], acts_f32, targets_f32=None) -> None:
        if self.writer is not None and not self.single and self.writer.rows + len(tokens) > self.shard_rows:
            self._close_shard()
        if self.writer is None:
            self._open()
        targets = None if targets_f32 is None else to_storage_bytes(targets_f32, self.dtype)
        self.writer.append(to_storage_bytes(acts_f32, self.dtype), len(tokens), targets)
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
    target = None
    if args.target_layer is not None or args.target_module is not None:
        target = resolve_site(model, args.target_layer, args.target_module)
    special = special_tokens(tokenizer, args.prepend_bos)
    capture = Capture(model, site, (target,) if target else ())
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
    if target is not None:
        meta.update({"target_hook": target.module_name, "target_layer": target.layer, "target_site": target.description})
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
        for index, sites in run_batches(capture, window, pad_id, device, args.batch_tokens):
            results[index] = sites
        for index, seq in enumerate(window):
            sites = results.pop(index)
            acts, targets = sites[0], (sites[1] if len(sites) > 1 else None)
            if dim is None:
                dim = acts.shape[1]
                output = ShardedOutput(args.out, dim, args.dtype, meta, args.shard_tokens or 1_000_000,
                                       target_dim=None if targets is None else targets.shape[1])
            if args.dtype == "f16":
                overflow_count += sum(int(np.count_nonzero(np.abs(a) > 65504.0)) for a in sites)
            output.add(seq, acts, targets)
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


