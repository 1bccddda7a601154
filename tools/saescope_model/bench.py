"""What `eval --model` costs the model, against one plain forward pass over the same tokens.

    python -m saescope_model bench --model M --layer L [--text FILE] [--ctx 128] [--tokens 8192]

Runs, in this one process and on the same batches: (1) a plain forward pass (logits only), then
(2) the server's work for eval --model: `activations` with keep (the clean pass, hook recorded,
clean log-probabilities) and `loss` with the variants eval asks for (reconstruction - here
the activations plus noise, as the dictionary is saescope's side - zeros, mean; the identity
splice on the first batch only), once
resuming at the hook and once re-running the whole model with a replacing hook. Prints tokens/s
and the ratio to the plain pass. saescope's own encoding is not included (see `saescope bench`).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m saescope_model bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--layer", required=True)
    p.add_argument("--text", default=None, help="text to cut into sequences (default: random token ids)")
    p.add_argument("--ctx", type=int, default=128)
    p.add_argument("--tokens", type=int, default=8192)
    p.add_argument("--batch-tokens", type=int, default=2048)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--no-rerun", action="store_true", help="skip timing the whole-model-again splice path")
    p.add_argument("--no-split-head", action="store_true",
                   help="the server's fallback path: the model's own logits, reduced run by run (for comparison)")
    p.add_argument("--json", action="store_true")
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import numpy as np
    import torch

    from .server import ModelSession, parse_serve_args

    args = parse_args(argv)
    serve_args = ["--model", args.model, "--layer", args.layer] + (["--threads", str(args.threads)] if args.threads else []) \
        + (["--no-split-head"] if args.no_split_head else [])
    session = ModelSession(parse_serve_args(serve_args))
    if args.text:
        _, frames = session.sequences({"path": args.text, "ctx": args.ctx, "max_tokens": args.tokens}, {})
        frames = dict(frames)
        offsets = frames["offsets"].tolist()
        sequences = [frames["tokens"][a:b] for a, b in zip(offsets, offsets[1:])]
    else:
        rng = np.random.default_rng(0)
        vocab = session.model.get_input_embeddings().weight.shape[0]
        sequences = [rng.integers(0, vocab, args.ctx) for _ in range(max(1, args.tokens // args.ctx))]
    per_batch = max(1, args.batch_tokens // args.ctx)
    batches = []
    for start in range(0, len(sequences), per_batch):
        group = sequences[start:start + per_batch]
        length = max(len(s) for s in group)
        tokens = np.zeros((len(group), length), np.int64)
        for i, s in enumerate(group):
            tokens[i, :len(s)] = s
        batches.append((tokens, np.asarray([len(s) for s in group], np.int64)))
    n_tokens = int(sum(len(s) for s in sequences))

    def plain():
        for tokens, lengths in batches:
            ids, mask = session._batch_inputs({"tokens": tokens, "lengths": lengths})
            with torch.inference_mode():
                session.splicer.logits(ids, mask)

    def evaluation():
        for number, (tokens, lengths) in enumerate(batches):
            _, frames = session.activations({"keep": True}, {"tokens": tokens, "lengths": lengths})
            acts = dict(frames)["acts"]
            given = acts + np.float32(0.01) * np.random.default_rng(1).standard_normal(acts.shape, dtype=np.float32)
            patch = (np.arange(tokens.shape[1])[None, :] < lengths[:, None]).astype(np.uint8)
            variants = [{"name": "sae", "replace": "given"}, {"name": "zero", "replace": "zeros"},
                        {"name": "mean", "replace": "mean"}]
            if number == 0:  # as saescope asks: the identity splice checks the first batch only
                variants.append({"name": "identity", "replace": "identity"})
            session.loss({"variants": variants}, {"patch": patch, "given.sae": given, "mean": acts.mean((0, 1))})

    cpu = {}

    def timed(fn, key):
        # wall clock, and the process's CPU time: on a shared machine the CPU-time ratio is the
        # steadier one (torch's threads spend it only while they compute)
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu[key] = time.process_time() - started_cpu
        return time.perf_counter() - started

    plain()  # warm-up (allocator, kernels)
    results = {"model": args.model, "layer": args.layer, "tokens": n_tokens, "ctx": args.ctx,
               "threads": torch.get_num_threads()}
    results["split_head"] = session.splicer.head is not None
    results["plain_s"] = timed(plain, "plain")
    session.splicer.resume = session.splicer.can_resume
    results["eval_resume_s"] = timed(evaluation, "eval_resume")
    if not args.no_rerun:
        session.splicer.resume = False
        results["eval_rerun_s"] = timed(evaluation, "eval_rerun")
    results["plain_again_s"] = timed(plain, "plain_again")
    base = (results["plain_s"] + results["plain_again_s"]) / 2
    base_cpu = (cpu["plain"] + cpu["plain_again"]) / 2
    for key in ("eval_resume",) + (() if args.no_rerun else ("eval_rerun",)):
        results[key + "_ratio"] = results[key + "_s"] / base
        results[key + "_cpu_ratio"] = cpu[key] / base_cpu
    results["plain_tokens_per_s"] = n_tokens / base
    session.close()
    if args.json:
        print(json.dumps(results))
    else:
        print(f"{args.model} layer {args.layer}: {n_tokens} tokens at ctx {args.ctx}, {results['threads']} threads")
        head = "applied in chunks by the server" if results["split_head"] else "the model's own logits"
        print(f"  LM head: {head}")
        print(f"  plain forward pass       {base:8.2f} s  {n_tokens / base:8.0f} tokens/s")
        print(f"  eval, resumed at hook    {results['eval_resume_s']:8.2f} s  {n_tokens / results['eval_resume_s']:8.0f} tokens/s"
              f"  {results['eval_resume_ratio']:.2f}x plain (CPU time {results['eval_resume_cpu_ratio']:.2f}x)")
        if not args.no_rerun:
            print(f"  eval, whole model again  {results['eval_rerun_s']:8.2f} s  {n_tokens / results['eval_rerun_s']:8.0f} tokens/s"
                  f"  {results['eval_rerun_ratio']:.2f}x plain (CPU time {results['eval_rerun_cpu_ratio']:.2f}x)")
    return 0
