"""The model server (python -m saescope_model serve) against the model run directly in the test.

The server runs as a real child process speaking the wire protocol; the references are computed
here with transformers' own outputs (hidden_states) and a forward hook written in this file, so
they share no code with the server's splice path. Tiny random GPT-2, Llama and BERT-with-LM-head
models are built in the test; the real SmolLM2 is loaded once (test_smollm2.py).
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from saescope_model.protocol import PROTOCOL_VERSION, read_message, write_message
from splice import spliced_log_probs
from tiny_models import CORPUS, causal_bert_dir, gpt2_dir, llama_dir

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCKS = {"gpt2": "transformer.h", "llama": "model.layers", "bert-lm": "bert.encoder.layer"}
# a block that is not the last (the last block's hidden_states entry is after the final norm)
LAYERS = {"gpt2": 0, "llama": 1, "bert-lm": 1}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("models"))
    return {"gpt2": gpt2_dir(root), "llama": llama_dir(root), "bert-lm": causal_bert_dir(root)}


class Server:
    def __init__(self, *args):
        env = dict(os.environ, PYTHONPATH=TOOLS, HF_HUB_OFFLINE="1")
        self.process = subprocess.Popen([sys.executable, "-m", "saescope_model", "serve", "--threads", "1", *args],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.next_id = 0

    def request(self, op, frames=(), **fields):
        self.next_id += 1
        write_message(self.process.stdin, dict(fields, op=op, id=self.next_id), frames)
        reply = read_message(self.process.stdout)
        assert reply is not None, self.process.stderr.read().decode()
        header, out = reply
        assert header["id"] == self.next_id
        return header, out

    def close(self):
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0
        self.process.stdout.close()
        self.process.stderr.close()


def _load(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def _batch(tok, texts):
    seqs = [tok(t)["input_ids"] for t in texts]
    length = max(len(s) for s in seqs)
    tokens = np.zeros((len(seqs), length), dtype=np.int64)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = s
    return seqs, tokens, np.asarray([len(s) for s in seqs], dtype=np.int64)


def _reference(model, seq, block, replacement=None):
    """log-probabilities [T, V] of one unpadded sequence, with block's hidden output replaced by
    `replacement` [T, D] (a forward hook on that block) when given."""
    replace = None if replacement is None else (lambda hidden: torch.from_numpy(replacement).double())
    return spliced_log_probs(model, block, seq, replace).numpy()


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert-lm"])
@pytest.mark.parametrize("resume, split_head", [(True, True), (False, True), (True, False)])
def test_server_matches_the_model(models, kind, resume, split_head):
    """split_head: the LM head applied in chunks to the runs' head inputs (what the server does
    when the model's logits are its output Linear), else the fallback on the model's own logits."""
    layer = LAYERS[kind]
    model, tok = _load(models[kind])
    server = Server("--model", models[kind], "--layer", str(layer), *([] if resume else ["--no-resume"]),
                    *([] if split_head else ["--no-split-head"]))
    try:
        hello, _ = server.request("hello")
        assert hello["ok"] and hello["protocol"] == PROTOCOL_VERSION
        assert hello["hook"] == f"{BLOCKS[kind]}.{layer}" and hello["layer"] == str(layer)
        assert hello["d_model"] == 32 and hello["vocab_size"] == model.config.vocab_size
        reply, head = server.request("unembedding")
        assert reply["ok"]
        np.testing.assert_array_equal(head["lm_head"], model.get_output_embeddings().weight.detach().numpy())
        assert hello["resume"] is resume and os.path.isfile(hello["tokenizer_file"])
        assert hello["split_head"] is split_head
        assert hello["n_layers"] == model.config.num_hidden_layers
        expected_ctx = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
        assert hello["context_length"] == expected_ctx

        texts = CORPUS[:3]
        seqs, tokens, lengths = _batch(tok, texts)
        reply, frames = server.request("activations", [("tokens", tokens), ("lengths", lengths)], keep=True)
        acts = frames["acts"]
        assert acts.shape == (3, tokens.shape[1], 32) and acts.dtype == np.float32
        for i, seq in enumerate(seqs):
            with torch.no_grad():
                hidden = model(input_ids=torch.tensor([seq]), output_hidden_states=True).hidden_states[layer + 1][0]
            np.testing.assert_allclose(acts[i, :len(seq)], hidden.numpy(), rtol=1e-4, atol=1e-5)
            assert not acts[i, len(seq):].any()

        rng = np.random.default_rng(0)
        given = (acts + rng.normal(0, 0.5, acts.shape)).astype(np.float32)
        mean = rng.normal(0, 1, 32).astype(np.float32)
        patch = np.ones(tokens.shape, dtype=np.uint8)
        patch[:, 0] = 0  # first position left clean, as saescope does for BOS
        variants = [{"name": "sae", "replace": "given"}, {"name": "zero", "replace": "zeros"},
                    {"name": "mean", "replace": "mean"}, {"name": "identity", "replace": "identity"}]
        reply, out = server.request("loss", [("patch", patch), ("given.sae", given), ("mean", mean)], variants=variants)
        assert reply["ok"], reply
        block = model.get_submodule(f"{BLOCKS[kind]}.{layer}")
        for i, seq in enumerate(seqs):
            n = len(seq)
            targets = np.asarray(seq[1:])
            clean = _reference(model, seq, block)
            clean_nll = -clean[np.arange(n - 1), targets]
            np.testing.assert_allclose(out["nll.clean"][i, :n - 1], clean_nll, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(out["nll.identity"][i, :n - 1], clean_nll, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(out["kl.identity"][i, :n - 1], 0, atol=1e-5)
            assert not out["nll.clean"][i, n - 1:].any()
            keep = acts[i, :n].copy()
            for name, values in (("sae", given[i, :n]), ("zero", np.zeros((n, 32), np.float32)),
                                 ("mean", np.broadcast_to(mean, (n, 32)))):
                replaced = np.where(patch[i, :n, None].astype(bool), values, keep).astype(np.float32)
                patched = _reference(model, seq, block, replaced)
                nll = -patched[np.arange(n - 1), targets]
                kl = (np.exp(clean) * (clean - patched)).sum(-1)[:n - 1]
                np.testing.assert_allclose(out[f"nll.{name}"][i, :n - 1], nll, rtol=1e-4, atol=1e-5, err_msg=name)
                np.testing.assert_allclose(out[f"kl.{name}"][i, :n - 1], kl, rtol=1e-3, atol=1e-5, err_msg=name)
                assert np.abs(nll - clean_nll).max() > 1e-3, f"{name} should change the loss"
    finally:
        server.close()


def test_requests_that_fail_leave_the_server_running(models):
    server = Server("--model", models["gpt2"], "--layer", "0")
    try:
        reply, _ = server.request("loss", variants=[{"name": "zero", "replace": "zeros"}])
        assert not reply["ok"] and "kept" in reply["error"]
        reply, _ = server.request("frobnicate")
        assert not reply["ok"] and "unknown request" in reply["error"]
        bad = np.asarray([[1, 2, 99999]], dtype=np.int64)
        reply, _ = server.request("activations", [("tokens", bad), ("lengths", np.asarray([3]))])
        assert not reply["ok"] and "vocabulary" in reply["error"]
        reply, frames = server.request("tokenize", text="The quick brown fox")
        _, tok = _load(models["gpt2"])
        assert reply["ok"] and frames["ids"].tolist() == tok("The quick brown fox", add_special_tokens=False)["input_ids"]
    finally:
        server.close()


def test_sequences_cut_text_as_the_exporter_does(models, tmp_path):
    from saescope_model.cache_writer import iter_documents, iter_sequences
    from saescope_model.loading import special_tokens

    text = tmp_path / "t.txt"
    text.write_text("\n\n".join(CORPUS), encoding="utf-8")
    _, tok = _load(models["llama"])
    expected = list(iter_sequences(iter_documents(str(text)), tok, special_tokens(tok, "auto"), 8, "split"))
    server = Server("--model", models["llama"], "--layer", "0")
    try:
        reply, frames = server.request("sequences", path=str(text), ctx=8)
        offsets = frames["offsets"].tolist()
        got = [frames["tokens"][a:b].tolist() for a, b in zip(offsets, offsets[1:])]
        assert got == expected and all(s[0] == tok.bos_token_id for s in got)
        reply, frames = server.request("sequences", path=str(text), ctx=8, max_tokens=10)
        assert frames["offsets"].tolist() == [0, 8, 10]
    finally:
        server.close()


def test_prepend_bos_gives_texts_the_cache_prefix(models, tmp_path):
    """GPT-2's tokenizer adds no special tokens; a cache exported with --prepend-bos always starts
    every sequence with BOS, and the server started the same way prefixes texts the same way."""
    from saescope_model.cache_writer import iter_documents, iter_sequences
    from saescope_model.loading import special_tokens

    text = tmp_path / "t.txt"
    text.write_text("\n\n".join(CORPUS), encoding="utf-8")
    _, tok = _load(models["gpt2"])
    for mode, prefix in (("auto", []), ("always", [tok.bos_token_id])):
        expected = list(iter_sequences(iter_documents(str(text)), tok, special_tokens(tok, mode), 8, "split"))
        server = Server("--model", models["gpt2"], "--layer", "0", "--prepend-bos", mode)
        try:
            hello, _ = server.request("hello")
            assert hello["prefix_token_ids"] == prefix
            _, frames = server.request("sequences", path=str(text), ctx=8)
            offsets = frames["offsets"].tolist()
            assert [frames["tokens"][a:b].tolist() for a, b in zip(offsets, offsets[1:])] == expected
            assert all((s[0] == tok.bos_token_id) == (mode == "always") for s in expected)
        finally:
            server.close()


def test_bad_model_and_hook_are_one_line_errors(models, tmp_path):
    env = dict(os.environ, PYTHONPATH=TOOLS, HF_HUB_OFFLINE="1")
    for args, expected in ((["--model", str(tmp_path / "none.gguf"), "--layer", "0"], "no such GGUF file"),
                           (["--model", models["gpt2"], "--layer", "7"], "the model has 2 blocks"),
                           (["--model", models["gpt2"], "--hook", "no.such"], "has no such submodule")):
        result = subprocess.run([sys.executable, "-m", "saescope_model", "serve", *args], capture_output=True,
                                text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)
        assert result.returncode != 0 and expected in result.stderr.strip().splitlines()[-1], result.stderr


def test_server_exits_when_its_parent_is_killed(models, tmp_path):
    """A parent (a shell) starts the server and is killed with SIGKILL: the server, left with an
    open stdin (the shell's) and reparented, notices and exits on its own."""
    pid_file = tmp_path / "pid"
    script = (f"{sys.executable} -m saescope_model serve --model {models['gpt2']} --layer 0 < /dev/zero & "
              f"echo $! > {pid_file}; sleep 600")
    env = dict(os.environ, PYTHONPATH=TOOLS, HF_HUB_OFFLINE="1")
    # /dev/zero as stdin never ends, so only the parent watch can stop the server; but it is not a
    # valid message either: use a FIFO held open by the shell instead.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    script = script.replace("< /dev/zero", f"< {fifo}") .replace("sleep 600", f"exec 3>{fifo}; sleep 600")
    shell = subprocess.Popen(["sh", "-c", script], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.time() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())
    time.sleep(3)  # let it load and block on its stdin
    assert _alive(child)
    os.kill(shell.pid, signal.SIGKILL)
    shell.wait()
    deadline = time.time() + 10
    while _alive(child) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the server outlived its parent"


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_bench_reports_both_splice_paths(models):
    env = dict(os.environ, PYTHONPATH=TOOLS, HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, "-m", "saescope_model", "bench", "--model", models["llama"], "--layer", "1",
                             "--ctx", "16", "--tokens", "64", "--threads", "1", "--json"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    report = __import__("json").loads(result.stdout.strip().splitlines()[-1])
    assert report["tokens"] == 64 and report["plain_s"] > 0
    assert report["eval_resume_ratio"] > 1 and report["eval_rerun_ratio"] > 1
