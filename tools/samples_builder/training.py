"""Training the two dictionaries with dictionary_learning's own trainSAE, on activation rows held in
memory. BOS rows are left out of training (SAELens' exclude-special-tokens convention): on SmolLM2
the first position's residual norm is about 25,000 against about 175 elsewhere, a constant vector
that would dominate every loss and dictionary_learning's activation normalisation."""

import time

from .smollm2 import CTX, LAYER, MODEL_REF

RELU_F = 2048
TOPK_F = 1536
TOPK_K = 32
BATCH = 2048
HOOK = f"layers.{LAYER}"  # as the exporter records it (the base model's module name)


class ShuffledActivations:
    """Random batches (without replacement within an epoch, reshuffled each epoch, seeded) from an
    in-memory activation tensor: what dictionary_learning's trainSAE iterates over. `config` is
    what trainSAE records as config.json's "buffer"."""

    def __init__(self, acts, batch_size, seed, config):
        import torch

        self.acts = acts
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(len(acts), generator=self.generator)
        self.pos = 0
        self.config = config

    def __iter__(self):
        return self

    def __next__(self):
        import torch

        if self.pos + self.batch_size > len(self.acts):
            self.perm = torch.randperm(len(self.acts), generator=self.generator)
            self.pos = 0
        index = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return self.acts[index]



def train_dictionaries(train_acts, n_sequences, steps, l1_penalty, save_dir):
    """trainer_0: AutoEncoder (ReLU) with StandardTrainer; trainer_1: AutoEncoderTopK with
    TopKTrainer; both in one trainSAE run on the same seeded batches. Returns the seconds taken."""
    import torch
    from dictionary_learning.dictionary import AutoEncoder
    from dictionary_learning.trainers.standard import StandardTrainer
    from dictionary_learning.trainers.top_k import AutoEncoderTopK, TopKTrainer
    from dictionary_learning.training import trainSAE

    d = train_acts.shape[1]
    common = dict(steps=steps, activation_dim=d, layer=LAYER, lm_name=MODEL_REF, submodule_name=HOOK, device="cpu",
                  seed=0)
    warmup = max(1, steps // 15)
    decay = int(steps * 0.8)
    relu = dict(trainer=StandardTrainer, dict_class=AutoEncoder, dict_size=RELU_F, lr=1e-3, l1_penalty=l1_penalty,
                warmup_steps=warmup, sparsity_warmup_steps=steps // 5, decay_start=decay, resample_steps=None,
                wandb_name="StandardTrainer", **common)
    topk = dict(trainer=TopKTrainer, dict_class=AutoEncoderTopK, dict_size=TOPK_F, k=TOPK_K, lr=None,
                warmup_steps=warmup, decay_start=decay, threshold_start_step=steps // 2,
                wandb_name="AutoEncoderTopK", **common)
    buffer_config = {
        "d_submodule": d, "io": "out", "n_ctxs": n_sequences, "ctx_len": CTX, "out_batch_size": BATCH,
        "device": "cpu", "n_tokens": int(train_acts.shape[0]),
        # Trained without the BOS rows (the attention sink: norm ~25,000 against ~170): recorded as
        # dictionary_learning's buffer does, so saescope leaves BOS out of the index and metrics.
        "remove_bos": True,
        "source": "saescope tools/build_samples.py: shuffled batches of the non-BOS rows of an activation cache "
                  "written by tools/export_activations.py (the opening of five Austen novels, f16)",
    }
    data = ShuffledActivations(train_acts, BATCH, seed=1, config=buffer_config)
    torch.manual_seed(0)
    started = time.time()
    trainSAE(data, [relu, topk], steps=steps, save_dir=save_dir, device="cpu", normalize_activations=True)
    return time.time() - started
