"""Tests of tools/export_activations.py against tiny randomly initialised transformers models.

Each test builds its model and tokenizer inside a temporary directory (tokenizers trained on a few
sentences with the `tokenizers` library, weights random from a fixed seed): nothing is downloaded.
The exporter's files are read back with numpy / safetensors and compared with the model's own
`output_hidden_states=True` output, one sequence at a time (so padding and batching are checked too).

Run by `make test` with the pinned environment's python (`make model-env`); they never skip.
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from saescope_model import cli as exporter  # noqa: E402  (tools/ is on sys.path: conftest.py)
from saescope_model.cache_writer import iter_documents  # noqa: E402
from tiny_models import bert_dir, gpt2_dir  # noqa: E402

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(TOOLS, "export_activations.py")

# Paragraphs separated by blank lines; the second is long enough to be split by --ctx 16,
# the third has a line break inside it, the last has no final newline.
TEXT = (
    "The quick brown fox jumps over the lazy dog.\n\n"
    "A sparse autoencoder splits a model's activations into many features, and the residual "
    "stream carries information from one layer to the next one; dead features never fire.\n\n\n"
    "Paris is the capital of France,\nand Berlin is the capital of Germany.\n\n"
    "Fifty-one is smaller than seventy-two."
)
PARAGRAPHS = [
    "The quick brown fox jumps over the lazy dog.",
    "A sparse autoencoder splits a model's activations into many features, and the residual "
    "stream carries information from one layer to the next one; dead features never fire.",
    "Paris is the capital of France,\nand Berlin is the capital of Germany.",
    "Fifty-one is smaller than seventy-two.",
]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("models"))
    return {"bert": bert_dir(root), "gpt2": gpt2_dir(root)}


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return str(path)


def _load(path):
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def _read(path):
    with safe_open(path, "np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def _hidden(model, ids, layer):
    """The model's own hidden_states[layer + 1] for one unpadded sequence."""
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), output_hidden_states=True)
    return out.hidden_states[layer + 1][0].float().numpy()


def _expected_sequences(tok, prefix, suffix, ctx):
    body = ctx - len(prefix) - len(suffix)
    seqs = []
    for text in PARAGRAPHS:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        for start in range(0, len(ids), body):
            seqs.append(prefix + ids[start:start + body] + suffix)
    return seqs


def _export(*argv):
    assert exporter.main([*argv, "--quiet", "--threads", "1"]) == 0


# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,layer,extra", [("bert", 0, []), ("bert", 1, []), ("gpt2", 0, ["--prepend-bos", "always"])])
def test_text_export_matches_hidden_states(models, text_file, tmp_path, kind, layer, extra):
    model, tok = _load(models[kind])
    out = str(tmp_path / "acts.safetensors")
    _export(models[kind], "--layer", str(layer), "--text", text_file, "--ctx", "16", "--out", out,
            "--batch-tokens", "40", *extra)
    tensors, meta = _read(out)
    acts, tokens, offsets = tensors["acts"], tensors["tokens"], tensors["seq_offsets"]
    assert acts.dtype == np.float32 and tokens.dtype == np.int64 and offsets.dtype == np.int64

    if kind == "bert":
        prefix, suffix = [tok.cls_token_id], [tok.sep_token_id]
        # the exporter's wrapping equals the tokenizer's own special tokens on a short text
        assert tok(PARAGRAPHS[0])["input_ids"] == prefix + tok(PARAGRAPHS[0], add_special_tokens=False)["input_ids"] + suffix
        assert meta["bos_token_id"] == str(tok.cls_token_id) and meta["eos_token_id"] == str(tok.sep_token_id)
    else:
        prefix, suffix = [tok.bos_token_id], []
        assert meta["bos_token_id"] == str(tok.bos_token_id)
    expected = _expected_sequences(tok, prefix, suffix, 16)
    assert len(expected) > len(PARAGRAPHS), "the long paragraph should have been split"
    assert offsets.tolist() == np.cumsum([0] + [len(s) for s in expected]).tolist()
    assert tokens.tolist() == [t for s in expected for t in s]
    assert acts.shape == (len(tokens), 32)

    for s, seq in enumerate(expected):
        rows = acts[offsets[s]:offsets[s + 1]]
        np.testing.assert_allclose(rows, _hidden(model, seq, layer), rtol=1e-5, atol=1e-5,
                                   err_msg=f"sequence {s}")

    assert meta["model"] == models[kind]
    assert meta["layer"] == str(layer)
    assert meta["hook"] == ("encoder.layer." if kind == "bert" else "h.") + str(layer)
    assert meta["tokenizer"] == "tokenizer.json"
    assert meta["n_tokens"] == str(len(tokens)) and meta["n_sequences"] == str(len(expected))
    copied = tmp_path / "tokenizer.json"
    assert copied.read_bytes() == open(os.path.join(models[kind], "tokenizer.json"), "rb").read()


def test_last_block_is_stored_before_the_final_norm(models, text_file, tmp_path):
    """GPT-2's hidden_states[-1] has ln_f applied; the exporter stores the last block's own output
    (what SAE libraries hook), so ln_f(acts) equals hidden_states[-1]. --layer -1 is that block."""
    model, tok = _load(models["gpt2"])
    out = str(tmp_path / "last.safetensors")
    _export(models["gpt2"], "--layer", "-1", "--text", text_file, "--ctx", "64", "--out", out)
    tensors, meta = _read(out)
    assert meta["layer"] == "1" and meta["hook"] == "h.1"
    offsets = tensors["seq_offsets"]
    for s in range(len(offsets) - 1):
        seq = tensors["tokens"][offsets[s]:offsets[s + 1]].tolist()
        rows = torch.from_numpy(tensors["acts"][offsets[s]:offsets[s + 1]])
        with torch.no_grad():
            normed = model.ln_f(rows).numpy()
        np.testing.assert_allclose(normed, _hidden(model, seq, 1), rtol=1e-5, atol=1e-5)


def test_embeddings_layer_is_hidden_states_zero(models, text_file, tmp_path):
    model, tok = _load(models["bert"])
    out = str(tmp_path / "emb.safetensors")
    _export(models["bert"], "--layer", "embeddings", "--text", text_file, "--ctx", "64", "--out", out)
    tensors, meta = _read(out)
    offsets = tensors["seq_offsets"]
    for s in range(len(offsets) - 1):
        seq = tensors["tokens"][offsets[s]:offsets[s + 1]].tolist()
        np.testing.assert_allclose(tensors["acts"][offsets[s]:offsets[s + 1]], _hidden(model, seq, -1), rtol=1e-5, atol=1e-5)
    assert meta["layer"] == "embeddings"


def test_max_tokens_shards_and_half_precision(models, text_file, tmp_path):
    single = str(tmp_path / "full.safetensors")
    _export(models["bert"], "--layer", "1", "--text", text_file, "--ctx", "16", "--out", single)
    full, _ = _read(single)

    # --max-tokens: exactly N rows, the last sequence cut before it was run
    first = int(full["seq_offsets"][1])
    n = first + 5
    cut = str(tmp_path / "cut.safetensors")
    _export(models["bert"], "--layer", "1", "--text", text_file, "--ctx", "16", "--max-tokens", str(n), "--out", cut)
    part, meta = _read(cut)
    assert part["acts"].shape[0] == n and meta["n_tokens"] == str(n)
    assert part["seq_offsets"].tolist() == [0, first, n]
    np.testing.assert_array_equal(part["tokens"], full["tokens"][:n])
    np.testing.assert_allclose(part["acts"][:first], full["acts"][:first], rtol=1e-5, atol=1e-5)
    model, _ = _load(models["bert"])
    np.testing.assert_allclose(part["acts"][first:], _hidden(model, part["tokens"][first:].tolist(), 1), rtol=1e-5, atol=1e-5)

    # a directory of shards of at most 20 rows, sequences whole; together they equal the single file
    shard_dir = str(tmp_path / "shards")
    _export(models["bert"], "--layer", "1", "--text", text_file, "--ctx", "16", "--shard-tokens", "20", "--out", shard_dir)
    names = sorted(n for n in os.listdir(shard_dir) if n.endswith(".safetensors"))
    assert len(names) > 1 and names[0] == "shard_00000.safetensors"
    assert os.path.isfile(os.path.join(shard_dir, "tokenizer.json"))
    acts, tokens, lengths = [], [], []
    for name in names:
        t, m = _read(os.path.join(shard_dir, name))
        assert t["acts"].shape[0] <= 20 and t["seq_offsets"][0] == 0 and t["seq_offsets"][-1] == t["acts"].shape[0]
        assert m["tokenizer"] == "tokenizer.json" and m["first_row"] == str(sum(len(a) for a in acts))
        acts.append(t["acts"])
        tokens.append(t["tokens"])
        lengths.extend(np.diff(t["seq_offsets"]).tolist())
    np.testing.assert_allclose(np.concatenate(acts), full["acts"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.concatenate(tokens), full["tokens"])
    assert lengths == np.diff(full["seq_offsets"]).tolist()

    # storage dtypes: f16 and bf16 hold the f32 values rounded to nearest
    for dtype, torch_dtype in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        path = str(tmp_path / f"{dtype}.safetensors")
        _export(models["bert"], "--layer", "1", "--text", text_file, "--ctx", "16", "--dtype", dtype, "--out", path)
        with safe_open(path, "pt") as f:
            stored = f.get_tensor("acts")
            assert stored.dtype == torch_dtype and f.metadata()["dtype"] == dtype
        rounded = torch.from_numpy(full["acts"]).to(torch_dtype)
        # the same model run may differ in the last f32 bit; allow one step of the storage type
        step = 2.0 ** (-10 if dtype == "f16" else -7)
        np.testing.assert_allclose(stored.float().numpy(), rounded.float().numpy(), rtol=step, atol=1e-3)


def test_jsonl_and_line_split(models, tmp_path):
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": p, "id": i}) for i, p in enumerate(PARAGRAPHS)) + "\n", encoding="utf-8")
    assert list(iter_documents(str(jsonl))) == PARAGRAPHS
    lines = tmp_path / "lines.txt"
    lines.write_text("one doc\n\ntwo doc\nthree doc", encoding="utf-8")
    assert list(iter_documents(str(lines), "line")) == ["one doc", "two doc", "three doc"]
    assert list(iter_documents(str(lines), "paragraph")) == ["one doc", "two doc\nthree doc"]
    out = str(tmp_path / "j.safetensors")
    _export(models["bert"], "--layer", "0", "--text", str(jsonl), "--ctx", "64", "--out", out)
    tensors, meta = _read(out)
    assert len(tensors["seq_offsets"]) == len(PARAGRAPHS) + 1 and meta["source"] == "docs.jsonl"


STATEMENTS_CSV = (
    'statement,label,has_not,country,xor\r\n'
    '"The city of Paris is in France.",1,0,France,True\r\n'
    '"The city of Paris is not in France.",0,1,France,false\r\n'
    '"Berlin, a city, is in Germany.",True,0,Germany,yes\r\n'
    '"He said ""yes"".\nThen he left.",0,0,"Nowhere, really",N\r\n'
    'Fifty-one is larger than seventy-two.,0,0,-,0'
)


@pytest.mark.parametrize("kind", ["bert", "gpt2"])
def test_statements_last_token(models, tmp_path, kind):
    model, tok = _load(models[kind])
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    csv_path = src_dir / "probe.csv"
    csv_path.write_bytes(("\ufeff" + STATEMENTS_CSV).encode("utf-8"))
    out = str(tmp_path / "out" / "probe.safetensors")
    _export(models[kind], "--layer", "0", "--statements", str(csv_path), "--out", out, "--batch-tokens", "24")
    tensors, meta = _read(out)
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 and tensors["acts"].shape == (5, 32)
    assert tensors["labels"].tolist() == [1, 0, 1, 0, 0] and tensors["labels"].dtype == np.int64
    assert tensors["has_not"].tolist() == [0, 1, 0, 0, 0]
    assert tensors["xor"].tolist() == [1, 0, 1, 0, 0]
    assert "country" not in tensors and json.loads(meta["boolean_columns"]) == ["has_not", "xor"]
    for i, row in enumerate(rows):
        ids = tok(row["statement"], add_special_tokens=False)["input_ids"]
        full = tok(row["statement"])["input_ids"]  # with the tokenizer's own special tokens
        start = 1 if kind == "bert" else 0
        assert full[start:start + len(ids)] == ids
        position = start + len(ids) - 1
        assert tensors["last_token_id"][i] == ids[-1]
        np.testing.assert_allclose(tensors["acts"][i], _hidden(model, full, 0)[position], rtol=1e-5, atol=1e-5)
    assert (tmp_path / "out" / "probe.csv").read_bytes() == csv_path.read_bytes()
    assert (tmp_path / "out" / "tokenizer.json").is_file()
    assert meta["csv"] == "probe.csv" and meta["layer"] == "0" and meta["tokenizer"] == "tokenizer.json"


def test_bad_label_is_reported(models, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("statement,label\nA.,1\nB.,maybe\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="record 2: label 'maybe'"):
        exporter.main([models["bert"], "--layer", "0", "--statements", str(bad), "--out", str(tmp_path / "x.safetensors")])


def test_help_explains_layers():
    result = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True, check=True)
    assert "hidden_states[L+1]" in result.stdout and "--statements" in result.stdout


def test_target_site_is_stored_beside_the_input(models, text_file, tmp_path):
    """--target-layer / --target-module: `targets` holds the second site, row for row beside
    `acts`, in the same shards, compared with the model's own hidden states / MLP output."""
    model, tok = _load(models["gpt2"])
    out = str(tmp_path / "shards")
    _export(models["gpt2"], "--module", "h.1.ln_2", "--target-module", "h.1.mlp", "--target-layer", "1",
            "--text", text_file, "--ctx", "16", "--out", out, "--batch-tokens", "40", "--shard-tokens", "20",
            "--prepend-bos", "always")
    names = sorted(n for n in os.listdir(out) if n.endswith(".safetensors"))
    assert len(names) > 1, "the corpus should fill several shards"
    expected = _expected_sequences(tok, [tok.bos_token_id], [], 16)
    captured = {}
    hooks = [model.get_submodule(name).register_forward_hook(
        (lambda name: lambda m, a, o: captured.__setitem__(name, o[0] if isinstance(o, tuple) else o))(name))
        for name in ("h.1.ln_2", "h.1.mlp")]
    s = 0
    for name in names:
        tensors, meta = _read(os.path.join(out, name))
        acts, targets, offsets = tensors["acts"], tensors["targets"], tensors["seq_offsets"]
        assert targets.shape == acts.shape and targets.dtype == acts.dtype
        assert meta["target_hook"] == "h.1.mlp" and meta["target_layer"] == "1" and meta["hook"] == "h.1.ln_2"
        for local in range(len(offsets) - 1):
            with torch.no_grad():
                model(input_ids=torch.tensor([expected[s]]))
            rows = slice(offsets[local], offsets[local + 1])
            np.testing.assert_allclose(acts[rows], captured["h.1.ln_2"][0].numpy(), rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(targets[rows], captured["h.1.mlp"][0].numpy(), rtol=1e-5, atol=1e-5)
            s += 1
    for hook in hooks:
        hook.remove()
    assert s == len(expected)
    assert not [n for n in os.listdir(out) if n.endswith(".partial")]
