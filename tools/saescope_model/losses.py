"""Per-prediction NLL and KL(clean || patched) of several runs of one batch, computed in chunks.

For every prediction (position t of a sequence, predicting token t+1; padding skipped) and every
run (the clean run first, then each patched run), the logits of a few rows are computed together
(one product with the head's weight for all runs), turned into log-probabilities in place, and
reduced to NLL and KL before the next rows: nothing of size [B, T, V] is ever held (see head.py).
"""

from __future__ import annotations

# Rows per run in one chunk: the head's matrix product runs near full speed from about 128 rows
# (its weight, 113 MB for SmolLM2, is read once per chunk); the chunk's logits are reused in
# place by every step after it.
ROWS_PER_RUN = 64


def next_token_losses(outputs, head, ids, mask):
    """outputs: [clean, patched...], each [B, T, X]: the head's input when `head` is given (a
    LinearHead), else the logits themselves. Returns (nll [R, B, T-1], kl [R-1, B, T-1]) float32
    tensors: NLL in nats of each run, KL(p_clean || p_run) in nats summed over the vocabulary for
    each patched run, zero where t+1 is past a sequence's length."""
    import torch

    batch, length = ids.shape
    runs = len(outputs)
    b_index, t_index = mask[:, 1:].bool().nonzero(as_tuple=True)
    source_rows = b_index * length + t_index           # row of the prediction in [B*T, X]
    targets = ids[b_index, t_index + 1]
    flat = [output.reshape(batch * length, output.shape[-1]) for output in outputs]
    count = source_rows.numel()
    vocab = head.weight.shape[0] if head is not None else outputs[0].shape[-1]
    step = min(ROWS_PER_RUN, max(count, 1))
    logits = torch.empty(runs * step, vocab)
    logp = torch.empty(runs * step, vocab)
    p_clean = torch.empty(step, vocab)
    nll = torch.zeros(runs, count)
    kl = torch.zeros(max(runs - 1, 0), count)
    for start in range(0, count, step):
        rows = source_rows[start:start + step]
        size = rows.numel()
        gathered = torch.cat([f.index_select(0, rows) for f in flat])
        chunk_logits, chunk_logp = logits[:runs * size], logp[:runs * size]
        if head is not None:
            head(gathered, out=chunk_logits)
        else:
            chunk_logits.copy_(gathered)
        torch.log_softmax(chunk_logits, -1, out=chunk_logp)   # one fused kernel
        runs_logp = chunk_logp.view(runs, size, vocab)
        chosen = targets[start:start + size].view(1, size, 1).expand(runs, size, 1)
        nll[:, start:start + size] = -runs_logp.gather(-1, chosen)[..., 0]
        if runs > 1:
            clean = runs_logp[0]
            p = torch.exp(clean, out=p_clean[:size])
            difference = chunk_logits.view(runs, size, vocab)[0]  # the logits are spent: reused
            for run in range(1, runs):
                # KL = sum p (log p - log q), the difference first: the form without cancellation
                torch.sub(clean, runs_logp[run], out=difference)
                kl[run - 1, start:start + size] = torch.einsum("rv,rv->r", p, difference)

    def scatter(values):
        out = torch.zeros(values.shape[0], batch, length - 1)
        out[:, b_index, t_index] = values
        return out

    return scatter(nll), scatter(kl)
