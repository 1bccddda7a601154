"""The model server: a long-lived child process that saescope starts to run a language model.

    python -m saescope_model serve --model M (--layer L | --hook NAME) [--threads N]

It loads the model once (with its LM head), then answers requests on stdin with replies on
stdout in the framing of protocol.py, one at a time, until stdin ends or `shutdown`. Requests:

  hello        -> protocol, model, architecture, n_layers, d_model, vocab_size, special ids,
                  tokenizer_file (a tokenizer.json the server wrote), hook, layer, resume,
                  split_head (losses from the head's input in chunks, head.py; added within protocol 2),
                  context_length (the most positions the model takes; null when its config
                  does not say; added within protocol 1: a reader ignores fields it does not know)
  tokenize     {text} -> frame ids [N] (no special tokens; hello gives the prefix/suffix ids)
  sequences    {path, ctx, txt_split, max_tokens} -> frames tokens [N], offsets [S+1]: a text
               file cut into sequences exactly as the exporter cuts it
  activations  frames tokens [B, T] i64, lengths [B] i64; {keep} -> frame acts [B, T, D] f32
               (rows past a sequence's length are zero). keep: runs the whole clean forward
               pass and keeps the batch (the hook's output and the clean run's input to the LM
               head, or its logits when the head is not a plain Linear) for the next `loss`,
               which then does not run the blocks before the hook again.
  loss         {variants: [{name, replace: given|zeros|mean|identity}]} on the kept batch;
               frames patch [B, T] u8 (1 = replace the hook output at this position),
               given.<name> [B, T, D] f32 for each `given` variant, mean [D] f32 when a variant
               uses it -> frames nll.clean, nll.<name>, kl.<name>, each [B, T-1] f32: at index t
               the prediction of token t+1 from tokens <= t, NLL in nats and KL(clean || patched)
               in nats summed over the vocabulary (zero past a sequence's length).
  unembedding  -> frame lm_head [V, D] f32: the output embedding (the LM head's weight, tied or
               not) as the model stores it, without the final norm (logit effects are W_dec @ W_U
               without it, as dashboards compute them). Protocol 2.
  forward      frames tokens [B, T] i64, lengths [B] i64 -> {}: one plain forward pass of the
               model to its logits, nothing kept or sent back: the baseline of `saescope bench
               model` (added within protocol 2).
  clock        -> cpu_seconds: the server's CPU time so far, for benchmarks (added within protocol 2).
  shutdown     -> ok, then the server exits.

Errors in a request are replies {"ok": false, "error": one line}; the server goes on. A stream
it cannot parse ends it (exit 3). The child dies with saescope: end of stdin ends the loop, and
a watcher thread exits the process when its parent changes (saescope killed while the child was
busy computing), so no orphan is left.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from typing import Optional, Sequence

from .protocol import PROTOCOL_VERSION, ProtocolError, read_message, write_message


def claim_stdout():
    """The real stdout as a private binary stream; fd 1 then points at stderr, so whatever a
    library prints lands in saescope's captured stderr instead of corrupting the protocol."""
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(private, "wb", buffering=1 << 20)


def watch_parent(interval: float = 0.25) -> None:
    """Exits the process when the parent that started it is gone (the child is re-parented)."""
    parent = os.getppid()

    def loop():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=loop, name="parent-watch", daemon=True).start()


class ModelSession:
    """One loaded model, its hook site and the batch kept for `loss`."""

    def __init__(self, args):
        from .hooks import Splicer, find_block_list, resolve_site
        from .loading import load_model, resolve_package_reference, special_tokens

        started = time.time()
        self.model_ref = args.model
        self.model_path = resolve_package_reference(args.model)  # where the model was read from
        self.model, self.tokenizer, self.device = load_model(
            args.model, causal_lm=True, model_dtype=args.model_dtype, device=args.device, threads=args.threads,
            trust_remote_code=args.trust_remote_code, local_files_only=True)
        self.site = resolve_site(self.model, args.layer, args.hook)
        self.splicer = Splicer(self.model, self.site, resume=not args.no_resume, split_head=not args.no_split_head)
        self.special = special_tokens(self.tokenizer, getattr(args, "prepend_bos", "auto"))
        _, blocks = find_block_list(self.model, required=False)
        self.n_layers = len(blocks) if blocks is not None else None
        self.kept = None
        self.tokenizer_dir = tempfile.mkdtemp(prefix="saescope-model-")
        self.tokenizer_file = None
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None:
            self.tokenizer_file = os.path.join(self.tokenizer_dir, "tokenizer.json")
            backend.save(self.tokenizer_file)
        print(f"saescope_model: loaded {args.model} in {time.time() - started:.1f} s on {self.device}; "
              f"hook {self.site.module_name}", file=sys.stderr, flush=True)

    def close(self):
        import shutil

        shutil.rmtree(self.tokenizer_dir, ignore_errors=True)

    # -- requests --------------------------------------------------------------------------------

    def hello(self, header, frames):
        config = self.model.config
        vocab = self.model.get_output_embeddings().weight.shape[0]
        d_model = getattr(config, "hidden_size", None) or getattr(config, "n_embd", None)
        return {
            "protocol": PROTOCOL_VERSION,
            "model": self.model_ref,
            "architecture": getattr(config, "model_type", type(self.model).__name__),
            "n_layers": self.n_layers,
            "d_model": d_model,
            "vocab_size": int(vocab),
            "bos_token_id": self.special.bos_token_id,
            "eos_token_id": self.special.eos_token_id,
            "prefix_token_ids": self.special.prefix,
            "suffix_token_ids": self.special.suffix,
            "tokenizer_file": self.tokenizer_file,
            "hook": self.site.module_name,
            "layer": self.site.layer,
            "site": self.site.description,
            "resume": self.splicer.resume,
            "split_head": self.splicer.head is not None,
            "device": str(self.device),
            "context_length": context_length(config, self.tokenizer),
        }, []

    def tokenize(self, header, frames):
        import numpy as np

        text = header.get("text")
        if not isinstance(text, str):
            raise ValueError("tokenize needs a string 'text'")
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return {}, [("ids", np.asarray(ids, dtype=np.int64))]

    def sequences(self, header, frames):
        import numpy as np

        from .cache_writer import iter_documents, iter_sequences

        path = header.get("path")
        ctx = int(header.get("ctx", 128))
        max_tokens = header.get("max_tokens")
        if not isinstance(path, str) or not os.path.isfile(path):
            raise ValueError(f"{path}: no such text file")
        if ctx <= 0:
            raise ValueError("ctx must be positive")
        tokens, offsets = [], [0]
        documents = iter_documents(path, header.get("txt_split", "paragraph"), header.get("text_field", "text"))
        for seq in iter_sequences(documents, self.tokenizer, self.special, ctx, "split"):
            if max_tokens is not None:
                room = int(max_tokens) - offsets[-1]
                if room <= 0:
                    break
                seq = seq[:room]
            tokens.extend(seq)
            offsets.append(offsets[-1] + len(seq))
        return {}, [("tokens", np.asarray(tokens, dtype=np.int64)), ("offsets", np.asarray(offsets, dtype=np.int64))]

    def _batch_inputs(self, frames):
        import torch

        tokens, lengths = frames.get("tokens"), frames.get("lengths")
        if tokens is None or lengths is None or tokens.ndim != 2 or lengths.shape != (tokens.shape[0],):
            raise ValueError("activations needs frames tokens [B, T] and lengths [B]")
        if (lengths < 1).any() or (lengths > tokens.shape[1]).any():
            raise ValueError("every length must be in 1 ... T")
        vocab = self.model.get_input_embeddings().weight.shape[0]
        ids = torch.from_numpy(tokens.copy())
        mask = (torch.arange(tokens.shape[1])[None, :] < torch.from_numpy(lengths.copy())[:, None]).long()
        real = ids[mask.bool()]
        if real.numel() and (real.min() < 0 or real.max() >= vocab):
            raise ValueError(f"token ids must be in 0 ..< {vocab} (the model's vocabulary)")
        ids = ids.masked_fill(~mask.bool(), 0)
        return ids.to(self.device), mask.to(self.device)

    def activations(self, header, frames):
        import torch

        from .hooks import Capture, hidden_of

        ids, mask = self._batch_inputs(frames)
        with torch.inference_mode(), threads_for(ids.numel()):
            if header.get("keep"):
                clean, site_output = self.splicer.clean(ids, mask)
                hidden = hidden_of(site_output)
                # the clean run's outputs (the head's input, or its logits): `loss` computes every
                # run's log-probabilities from them, in chunks, together with the patched runs'
                self.kept = {"ids": ids, "mask": mask, "site_output": site_output, "hidden": hidden, "clean": clean}
            else:
                capture = Capture(self.model, self.site)
                try:
                    hidden = capture.run(input_ids=ids, attention_mask=mask)
                finally:
                    capture.remove()
            acts = (hidden.float() * mask[..., None]).cpu().numpy()
        return {"kept": bool(header.get("keep"))}, [("acts", acts)]

    def loss(self, header, frames):
        import torch

        from .losses import next_token_losses

        if self.kept is None:
            raise ValueError("loss needs a batch kept by activations {keep: true} first")
        kept = self.kept
        ids, mask, hidden = kept["ids"], kept["mask"], kept["hidden"]
        batch, length = ids.shape
        patch = frames.get("patch")
        if patch is None or patch.shape != (batch, length):
            raise ValueError(f"loss needs a frame patch [{batch}, {length}] u8")
        variants = header.get("variants")
        if not isinstance(variants, list) or not variants:
            raise ValueError("loss needs a non-empty list 'variants'")
        where = torch.from_numpy(patch.astype(bool)).to(self.device)[..., None]
        names, outputs, reduced = [], [], []
        with torch.inference_mode():
            for variant in variants:
                name, replace = variant.get("name"), variant.get("replace")
                if not isinstance(name, str) or not name or name == "clean" or name in names:
                    raise ValueError(f"bad variant name {name!r}")
                if replace == "identity":
                    patched = hidden
                else:
                    if replace == "given":
                        given = frames.get(f"given.{name}")
                        if given is None or given.shape != tuple(hidden.shape):
                            raise ValueError(f"variant {name}: needs a frame given.{name} {list(hidden.shape)} f32")
                        value = torch.from_numpy(given.copy()).to(self.device, hidden.dtype)
                    elif replace == "zeros":
                        value = torch.zeros_like(hidden)
                    elif replace == "mean":
                        mean = frames.get("mean")
                        if mean is None or mean.shape != (hidden.shape[-1],):
                            raise ValueError(f"variant {name}: needs a frame mean [{hidden.shape[-1]}] f32")
                        value = torch.from_numpy(mean.copy()).to(self.device, hidden.dtype).expand_as(hidden)
                    else:
                        raise ValueError(f"variant {name}: replace must be given, zeros, mean or identity")
                    patched = torch.where(where, value, hidden)
                names.append(name)
                outputs.append(self.splicer.patched(kept["site_output"], patched, ids, mask))
                if self.splicer.head is None:
                    # the model's own logits ([B, T, V] each): reduced run by run, not all held at once
                    nll, kl = next_token_losses([kept["clean"], outputs.pop()], None, ids, mask)
                    reduced.append((nll, kl))
            if self.splicer.head is not None:
                nll, kl = next_token_losses([kept["clean"]] + outputs, self.splicer.head, ids, mask)
                reduced = [(nll[[0, k + 1]], kl[[k]]) for k in range(len(names))]
        replies = [("nll.clean", reduced[0][0][0].cpu().numpy())]
        for name, (nll, kl) in zip(names, reduced):
            replies += [(f"nll.{name}", nll[1].cpu().numpy()), (f"kl.{name}", kl[0].cpu().numpy())]
        return {}, replies

    def forward(self, header, frames):
        import torch

        ids, mask = self._batch_inputs(frames)
        with torch.inference_mode():
            self.splicer.logits(ids, mask)
        return {}, []

    def clock(self, header, frames):
        return {"cpu_seconds": time.process_time()}, []

    def unembedding(self, header, frames):
        weight = self.model.get_output_embeddings().weight
        return {}, [("lm_head", weight.detach().float().cpu().numpy())]


# Below this many tokens a request runs on one torch thread. A live-text sentence (~30 tokens)
# is hundreds of small operations, each an OpenMP parallel region whose threads meet at a
# barrier: a second thread saves little there, and when the cores are shared each barrier waits
# for both threads to be scheduled (measured on SmolLM2 to layer 15, 26 tokens, load ~12 on 2
# cores: 2 threads 14-26 s wall and 1.7-2.1 s CPU, mostly spinning; 1 thread 1.2 s wall, 87 ms CPU).
SINGLE_THREAD_TOKENS = 256


@contextlib.contextmanager
def threads_for(tokens: int):
    import torch

    before = torch.get_num_threads()
    if tokens >= SINGLE_THREAD_TOKENS or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def context_length(config, tokenizer) -> Optional[int]:
    """The model's maximum positions from its config (the attribute its family uses), else the
    tokenizer's model_max_length when that is a real limit (transformers puts 1e30 when unknown)."""
    for name in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 10**6 else None


OPS = ("hello", "tokenize", "sequences", "activations", "loss", "unembedding", "forward", "clock")


def serve(args) -> int:
    out = claim_stdout()
    watch_parent()
    inp = sys.stdin.buffer
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    session = ModelSession(args)
    try:
        while True:
            try:
                message = read_message(inp)
            except ProtocolError as exc:
                write_message(out, {"ok": False, "error": f"protocol error: {exc}"})
                return 3
            if message is None:
                return 0
            header, frames = message
            op, request_id = header.get("op"), header.get("id")
            if op == "shutdown":
                write_message(out, {"ok": True, "id": request_id})
                return 0
            if op not in OPS:
                write_message(out, {"ok": False, "id": request_id, "error": f"unknown request {op!r}"})
                continue
            try:
                reply, reply_frames = getattr(session, op)(header, frames)
            except Exception as exc:  # one request failed; the server goes on
                text = " ".join(str(exc).split()) or type(exc).__name__
                write_message(out, {"ok": False, "id": request_id, "error": f"{op}: {text}"})
                continue
            write_message(out, dict(reply, ok=True, id=request_id), reply_frames)
    finally:
        session.close()


def parse_serve_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from .loading import DTYPES

    p = argparse.ArgumentParser(prog="python -m saescope_model serve",
                                description="Serve a language model to saescope over stdin/stdout (see server.py).")
    p.add_argument("--model", required=True, help="GGUF file, local model directory, or hub name (local cache only)")
    p.add_argument("--layer", default=None, help="block index counted from 0 (the exporter's --layer)")
    p.add_argument("--hook", default=None, help="module name to hook instead (e.g. model.layers.3.mlp)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--prepend-bos", choices=["auto", "always", "never"], default="auto",
                   help="the prefix of texts (tokenize, sequences, hello's prefix ids), as the exporter's option: "
                        "always when the cache's sequences start with BOS and the tokenizer adds none")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    p.add_argument("--model-dtype", choices=list(DTYPES), default="float32")
    p.add_argument("--no-resume", action="store_true",
                   help="patched passes run the whole model with a replacing hook instead of resuming at the hook")
    p.add_argument("--no-split-head", action="store_true",
                   help="losses from the model's own logits instead of its head applied in chunks (see head.py)")
    p.add_argument("--trust-remote-code", action="store_true")
    args = p.parse_args(argv)
    if args.layer is None and args.hook is None:
        p.error("--layer or --hook is required")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    return serve(parse_serve_args(argv))
