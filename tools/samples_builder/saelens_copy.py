"""The TopK dictionary in SAELens layout, written by SAELens' own save code and checked by its own
loader."""

import os
import shutil

from .smollm2 import CTX, LAYER, MODEL_REF


def write_saelens_copy(ae, out_dir):
    """AutoEncoderTopK as a SAELens TopKSAE: W_enc = encoder.weight^T, b_enc = encoder.bias,
    W_dec = decoder.weight^T, b_dec = b_dec, apply_b_dec_to_input, k; saved by TopKSAE.save_model."""
    import torch
    from sae_lens import TopKSAE, TopKSAEConfig
    from sae_lens.saes.sae import SAEMetadata

    metadata = SAEMetadata(
        model_name=MODEL_REF, hook_name=f"blocks.{LAYER}.hook_resid_post", hook_head_index=None,
        model_class_name="LlamaForCausalLM", context_size=CTX, prepend_bos=True,
        dataset_path="janeaustenr (five novels)", exclude_special_tokens=True, model_from_pretrained_kwargs=None,
        seqpos_slice=(None,), sequence_separator_token=None, disable_concat_sequences=False,
    )
    cfg = TopKSAEConfig(d_in=ae.activation_dim, d_sae=ae.dict_size, k=int(ae.k), dtype="float32", device="cpu",
                        apply_b_dec_to_input=True, rescale_acts_by_decoder_norm=False,
                        normalize_activations="none", metadata=metadata)
    torch.manual_seed(0)
    sae = TopKSAE(cfg)
    with torch.no_grad():
        sae.W_enc.copy_(ae.encoder.weight.T)
        sae.b_enc.copy_(ae.encoder.bias)
        sae.W_dec.copy_(ae.decoder.weight.T)
        sae.b_dec.copy_(ae.b_dec)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    sae.save_model(out_dir)
    return out_dir


def check_saelens_copy(path, ae, acts):
    """SAELens' own loader and encode/decode reproduce dictionary_learning's codes and reconstructions."""
    import torch
    from sae_lens import SAE

    sae = SAE.load_from_disk(path, device="cpu")
    with torch.no_grad():
        x = acts[:4096]
        f_lens = sae.encode(x)
        x_lens = sae.decode(f_lens)
        x_dl, f_dl = ae(x, output_features=True)
    f_err = float((f_lens - f_dl).abs().max() / f_dl.abs().max())
    x_err = float((x_lens - x_dl).abs().max() / x_dl.abs().max())
    assert f_err < 1e-5 and x_err < 1e-5, (f_err, x_err)
    return max(f_err, x_err)

