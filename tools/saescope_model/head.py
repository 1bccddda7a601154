"""The LM head as a separate step: the model's forward pass stops at the head's input, and the
next-token losses are computed from it chunk by chunk (see losses.py).

Why: a batch of 2048 tokens has logits of 2048 x 49,152 floats (400 MB for SmolLM2). Computing
them whole for the clean run and each patched run, then log_softmax, exp, the difference and the
KL sum as separate tensor operations, streams several such tensors through memory per run (about
a sixth of a plain forward pass on a 2-core CPU). Computed a few rows at a time for all runs at
once, the logits stay in cache and the head's weight is read once per chunk for every run.

This holds only when the logits are exactly the output-embedding Linear applied to its input
(no soft-capping, scaling or other step after it). `LinearHead.verified` checks that on the
loaded model itself, once, and the server falls back to the model's own logits when it is not so.
"""

from __future__ import annotations

from typing import Optional


class _HeadReached(Exception):
    """Raised by the head's pre-hook: the forward pass stops once the head's input is known."""


class LinearHead:
    """logits = input @ weight.T (+ bias), the model's output embedding as a plain Linear."""

    def __init__(self, module):
        self.module = module
        self.weight = module.weight
        self.bias = getattr(module, "bias", None)

    def __call__(self, rows, out=None):
        """Logits [N, V] float32 of rows [N, H] (into `out` when given)."""
        import torch

        if self.weight.dtype != torch.float32:
            logits = torch.nn.functional.linear(rows.to(self.weight.dtype), self.weight, self.bias).float()
            return logits if out is None else out.copy_(logits)
        if self.bias is None:
            return torch.matmul(rows, self.weight.t(), out=out)
        if out is None:
            return torch.addmm(self.bias, rows, self.weight.t())
        return torch.addmm(self.bias, rows, self.weight.t(), out=out)

    def capture_input(self, run):
        """`run()` (a forward pass) stopped at the head; returns the head's input [B, T, H]."""
        recorded = {}

        def pre(module, args, kwargs):
            recorded["value"] = args[0] if args else next(iter(kwargs.values()))
            raise _HeadReached()

        handle = self.module.register_forward_pre_hook(pre, with_kwargs=True)
        try:
            run()
        except _HeadReached:
            pass
        finally:
            handle.remove()
        if "value" not in recorded:
            raise RuntimeError("the model's output embedding did not run during the forward pass")
        return recorded["value"]

    @classmethod
    def verified(cls, model, forward) -> Optional["LinearHead"]:
        """The head when `forward(ids, mask)` -> logits equals the Linear applied to the captured
        input on a short probe sequence (relative 1e-5), else None (the model's own logits are used)."""
        import torch

        module = model.get_output_embeddings()
        if not isinstance(module, torch.nn.Linear):
            return None
        head = cls(module)
        vocab = model.get_input_embeddings().weight.shape[0]
        ids = (torch.arange(8)[None, :] * 7919 + 11) % vocab
        ids = ids.to(module.weight.device)
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            logits = forward(ids, mask).float()
            captured = head.capture_input(lambda: forward(ids, mask))
            ours = head(captured.reshape(-1, captured.shape[-1])).view(*captured.shape[:-1], -1)
        if ours.shape != logits.shape:
            return None
        scale = logits.abs().max().clamp_min(1e-12)
        return head if float((ours - logits).abs().max() / scale) <= 1e-5 else None
