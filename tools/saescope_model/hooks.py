"""Hook sites: which module's output is "the activation at layer L", reading it, and replacing it.

Layers are counted as the exporter always has: --layer L is the output of block L of the model's
list of transformer blocks (hidden_states[L+1]); `embeddings` is the input of block 0; --module
NAME any submodule's output. A site named for a base model (`layers.3`, as the exporter records it
from AutoModel) also resolves on the same model with an LM head (`model.layers.3`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Optional


class _StopForward(Exception):
    """Raised by the capture hook so the model does not compute the layers after the stored one."""


@dataclass
class Site:
    module_name: str          # module whose output (or, for embeddings, input) is captured
    use_input: bool           # True: capture the input of module_name (the embeddings case)
    layer: str                # recorded in metadata
    description: str          # human-readable
    block_index: Optional[int] = None  # the block whose output this is (None: embeddings or --module)
    blocks_name: Optional[str] = None  # name of the ModuleList of blocks


def find_block_list(model, required: bool = True) -> tuple:
    """The model's list of transformer blocks: (name, ModuleList); (None, None) when it cannot be
    told and not required."""
    import torch

    config = getattr(model, "config", None)
    n_layers = None
    for cfg in (config, getattr(config, "text_config", None)):
        if cfg is None:
            continue
        for key in ("num_hidden_layers", "n_layer", "num_layers", "n_layers"):
            if isinstance(getattr(cfg, key, None), int):
                n_layers = getattr(cfg, key)
                break
        if n_layers is not None:
            break
    candidates = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0:
            classes = {type(child) for child in module}
            if len(classes) == 1 and (n_layers is None or len(module) == n_layers):
                candidates.append((name, module))
    if len(candidates) == 1:
        return candidates[0]
    if not required:
        return None, None
    names = ", ".join(name for name, _ in candidates) or "none"
    raise SystemExit(
        f"cannot tell which module list holds the transformer blocks (candidates: {names}); "
        "name the module to hook with --module"
    )


def resolve_site(model, layer: Optional[str], module: Optional[str]) -> Site:
    if module is not None:
        names = dict(model.named_modules())
        prefix = getattr(model, "base_model_prefix", "")
        if module not in names and prefix and f"{prefix}.{module}" in names:
            module = f"{prefix}.{module}"  # a base model's name on the model with an LM head
        if module not in names:
            raise SystemExit(f"{module}: the model has no such submodule (see model.named_modules())")
        blocks_name, blocks = find_block_list(model, required=False)
        index = None
        if blocks_name is not None:
            for i in range(len(blocks)):
                if module == (f"{blocks_name}.{i}" if blocks_name else str(i)):
                    index = i
        return Site(module, False, str(layer) if layer is not None else (str(index) if index is not None else ""),
                    f"output of {module}", index, blocks_name)
    blocks_name, blocks = find_block_list(model)
    prefix = f"{blocks_name}." if blocks_name else ""
    if str(layer).lower() in ("embeddings", "embed", "emb"):
        return Site(f"{prefix}0", True, "embeddings",
                    f"residual stream before block 0 (embedding output, input of {prefix}0; hidden_states[0])")
    try:
        index = int(layer)
    except ValueError:
        raise SystemExit(f"--layer {layer}: expected an integer or 'embeddings'")
    n = len(blocks)
    if index < 0:
        index += n
    if not 0 <= index < n:
        raise SystemExit(f"--layer {layer}: the model has {n} blocks (0 ..< {n})")
    return Site(f"{prefix}{index}", False, str(index),
                f"residual stream after block {index} (output of {prefix}{index}; "
                f"hidden_states[{index + 1}], hidden_states[0] being the embeddings)", index, blocks_name)


class Capture:
    """Registers hooks that store each site's tensor [B, T, D] and stop the forward pass once
    every site has been stored (a transcoder's input and target: `extra_sites`)."""

    def __init__(self, model, site: Site, extra_sites: tuple = ()):
        self.model = model
        self.sites = (site,) + tuple(extra_sites)
        self.values = [None] * len(self.sites)
        self.handles = []
        for slot, each in enumerate(self.sites):
            module = model.get_submodule(each.module_name)
            if each.use_input:
                hook = (lambda slot: lambda module, args, kwargs: self._pre_hook(slot, args, kwargs))(slot)
                self.handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))
            else:
                hook = (lambda slot: lambda module, args, output: self._store(slot, hidden_of(output)))(slot)
                self.handles.append(module.register_forward_hook(hook))

    def _pre_hook(self, slot, args, kwargs):
        value = args[0] if args else kwargs.get("hidden_states")
        if value is None:
            raise RuntimeError("could not find the hidden states among the block's inputs")
        self._store(slot, value)

    def _store(self, slot, value):
        self.values[slot] = value
        if all(v is not None for v in self.values):
            raise _StopForward()

    def run_all(self, **inputs) -> list:
        """Every site's tensor, in the order the sites were given."""
        import torch

        self.values = [None] * len(self.sites)
        try:
            with torch.no_grad():
                self.model(**inputs)
        except _StopForward:
            pass
        missing = [s.module_name for s, v in zip(self.sites, self.values) if v is None]
        if missing:
            raise RuntimeError(f"the hooked module(s) {', '.join(missing)} did not run during the forward pass")
        values = self.values
        self.values = [None] * len(self.sites)
        return values

    def run(self, **inputs):
        return self.run_all(**inputs)[0]

    def remove(self):
        for handle in self.handles:
            handle.remove()




def hidden_of(output):
    """The hidden-state tensor inside a module's output (a tensor, or a tuple/list led by one)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def with_hidden(output, hidden):
    """`output` with its hidden-state tensor replaced by `hidden`, the rest (attention weights,
    caches) kept, so the model's own code after the site sees the structure it expects."""
    if isinstance(output, tuple):
        return (hidden,) + tuple(output[1:])
    if isinstance(output, list):
        return [hidden] + list(output[1:])
    return hidden


def constant_block(original, value):
    """A stand-in for a block during a resumed run: returns a fixed output without computing.
    Unknown attributes (some models read e.g. `attention_type` off their layers) come from the
    block it replaces."""
    import torch

    class ConstantBlock(torch.nn.Module):
        def forward(self, *args, **kwargs):
            return value

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(original, name)

    return ConstantBlock()


class Splicer:
    """Runs a model clean (recording the site's output) and with the site's output replaced.

    Two ways to run a patched pass:
    - resume (block sites): the blocks up to and including the hooked one are swapped for
      stand-ins that return the patched output, so the pass computes only the embeddings, the
      blocks after the hook and the head: the blocks before the hook are not run again.
    - hook (any site): a forward hook returns the patched value in place of the module's output;
      the whole model runs again. Used for --module and embeddings sites, and as the reference
      the resumed path is tested against.
    """

    def __init__(self, model, site: Site, resume: bool = True, split_head: bool = True):
        import inspect

        from .head import LinearHead

        self.model = model
        self.site = site
        self.module = model.get_submodule(site.module_name)
        self.can_resume = site.block_index is not None and not site.use_input
        self.resume = resume and self.can_resume
        self._kwargs = {"use_cache": False} if "use_cache" in inspect.signature(model.forward).parameters else {}
        # runs stop at the LM head's input and losses.py applies the head in chunks, when the
        # model's logits are exactly its output-embedding Linear (checked on the model)
        self.head = LinearHead.verified(model, self.logits) if split_head else None

    def logits(self, input_ids, attention_mask):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, **self._kwargs)
        return out.logits if hasattr(out, "logits") else out[0]

    def _outputs(self, input_ids, attention_mask):
        """The head's input [B, T, H] when the head is applied separately (self.head), else the logits."""
        if self.head is None:
            return self.logits(input_ids, attention_mask)
        return self.head.capture_input(lambda: self.logits(input_ids, attention_mask))

    def clean(self, input_ids, attention_mask):
        """(outputs [B, T, X] as `_outputs` gives them, the site's output as the module returned it)."""
        recorded = {}
        if self.site.use_input:
            def pre(module, args, kwargs):
                recorded["value"] = args[0] if args else kwargs.get("hidden_states")
            handle = self.module.register_forward_pre_hook(pre, with_kwargs=True)
        else:
            def post(module, args, output):
                recorded["value"] = output
            handle = self.module.register_forward_hook(post)
        try:
            outputs = self._outputs(input_ids, attention_mask)
        finally:
            handle.remove()
        if "value" not in recorded:
            raise RuntimeError("the hooked module did not run during the forward pass")
        return outputs, recorded["value"]

    def patched(self, site_output, hidden, input_ids, attention_mask):
        """`_outputs` with the site's hidden state replaced by `hidden` [B, T, D]."""
        replacement = hidden if self.site.use_input else with_hidden(site_output, hidden)
        if self.resume:
            return self._resumed(replacement, input_ids, attention_mask)
        if self.site.use_input:
            def pre(module, args, kwargs):
                if args:
                    return (replacement,) + tuple(args[1:]), kwargs
                return args, dict(kwargs, hidden_states=replacement)
            handle = self.module.register_forward_pre_hook(pre, with_kwargs=True)
        else:
            handle = self.module.register_forward_hook(lambda module, args, output: replacement)
        try:
            return self._outputs(input_ids, attention_mask)
        finally:
            handle.remove()

    def _resumed(self, replacement, input_ids, attention_mask):
        blocks = self.model.get_submodule(self.site.blocks_name) if self.site.blocks_name else self.model
        originals = [blocks[i] for i in range(self.site.block_index + 1)]
        try:
            for i, block in enumerate(originals):
                blocks[i] = constant_block(block, replacement)
            return self._outputs(input_ids, attention_mask)
        finally:
            for i, block in enumerate(originals):
                blocks[i] = block
