"""The LM head applied in chunks (head.py, losses.py) against a direct computation in float64.

The server's own test (test_server.py) checks the whole path on tiny GPT-2, Llama and BERT
models; this one checks the pieces: several chunks with a partial last one, padding skipped,
the fallback on the model's own logits, and that a head which is not a plain Linear is refused.
"""

import numpy as np
import pytest
import torch

from saescope_model import losses
from saescope_model.head import LinearHead

V, H = 50, 8


class TinyLM(torch.nn.Module):
    """An embedding and an output Linear; `scale` multiplies the logits after the head (as a
    soft-capping or logit scale would), which the chunked head must not be used for."""

    def __init__(self, scale=1.0, bias=True):
        super().__init__()
        self.embed = torch.nn.Embedding(V, H)
        self.lm_head = torch.nn.Linear(H, V, bias=bias)
        self.scale = scale

    def get_input_embeddings(self):
        return self.embed

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, ids, mask):
        return self.lm_head(torch.tanh(self.embed(ids))) * self.scale


def _reference(runs, ids, lengths):
    """(nll [R, B, T-1], kl [R-1, B, T-1]) in float64 from full logits."""
    logp = [torch.log_softmax(r.double(), -1)[:, :-1] for r in runs]
    targets = ids[:, 1:, None]
    nll = torch.stack([-lp.gather(-1, targets)[..., 0] for lp in logp])
    kl = torch.stack([(logp[0].exp() * (logp[0] - lp)).sum(-1) for lp in logp[1:]])
    valid = (torch.arange(ids.shape[1] - 1)[None, :] + 1 < lengths[:, None]).double()
    return nll * valid, kl * valid


@pytest.mark.parametrize("use_head", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_chunked_losses_equal_a_direct_computation(monkeypatch, use_head, bias):
    monkeypatch.setattr(losses, "ROWS_PER_RUN", 3)  # several chunks, the last one partial
    torch.manual_seed(0)
    model = TinyLM(bias=bias)
    ids = torch.randint(0, V, (3, 7))
    lengths = torch.tensor([7, 4, 2])
    mask = (torch.arange(7)[None, :] < lengths[:, None]).long()
    inputs = [torch.randn(3, 7, H) * 2 for _ in range(4)]
    with torch.inference_mode():
        logits = [model.lm_head(x) for x in inputs]
        head = LinearHead(model.lm_head) if use_head else None
        nll, kl = losses.next_token_losses(inputs if use_head else logits, head, ids, mask)
    expected_nll, expected_kl = _reference(logits, ids, lengths)
    np.testing.assert_allclose(nll.numpy(), expected_nll.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(kl.numpy(), expected_kl.numpy(), rtol=1e-4, atol=1e-6)
    assert (kl[:, 0, :6] > 0).all() and not nll[:, 2, 1:].any()  # padding predictions stay zero


def test_a_head_with_a_step_after_the_linear_is_not_split():
    torch.manual_seed(0)
    plain, scaled = TinyLM(), TinyLM(scale=0.5)
    assert LinearHead.verified(plain, plain) is not None
    assert LinearHead.verified(scaled, scaled) is None
