"""The tests' own splice: a forward hook on a block that replaces its hidden output, written
independently of the server's splice path (saescope_model/hooks.py), so references computed
with it share no code with what they check. Used by bridge_reference.py, test_samples.py and
test_server.py."""

import torch


def spliced_log_probs(model, block, seq, replace=None):
    """Log-probabilities [T, V] (float64) of one unpadded sequence `seq` (token ids); with
    `replace`, a function from the block's hidden output [T, D] (as float64) to its replacement,
    spliced in by a forward hook on `block` for this one run."""
    handle = None
    if replace is not None:
        def hook(module, args, output):
            hidden = output[0] if isinstance(output, tuple) else output
            new = replace(hidden[0].double()).to(hidden.dtype)[None]
            return (new,) + tuple(output[1:]) if isinstance(output, tuple) else new
        handle = block.register_forward_hook(hook)
    try:
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([seq])).logits[0]
    finally:
        if handle is not None:
            handle.remove()
    return torch.log_softmax(logits.double(), -1)
