"""Statement mode: one activation per CSV row (the last token of the statement), with the label
and every other boolean column, for saescope's probes."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from typing import List, Optional

from .cache_writer import StreamingSafetensorsWriter, base_metadata, run_batches, to_storage_bytes
from .hooks import Capture, resolve_site
from .loading import load_model_and_tokenizer, pad_token_id, special_tokens, write_tokenizer_json


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
    for index, sites in run_batches(capture, sequences, pad_token_id(tokenizer), device, args.batch_tokens):
        hidden = sites[0]  # statements capture one site
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


