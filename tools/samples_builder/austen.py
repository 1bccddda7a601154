"""Jane Austen's six novels from the Debian package r-cran-janeaustenr (an R lazy-load database),
split into paragraphs, and the text files the activations are exported from."""

import gzip
import hashlib
import os
import struct
import subprocess
import zlib

from .log import log
from .rdata import RUnserializer, r_names

JANEAUSTENR_DIR = "/usr/lib/R/site-library/janeaustenr"
SAMPLE_NOVEL = "prideprejudice"
NOVEL_TITLES = {
    "emma": "Emma (1815)",
    "mansfieldpark": "Mansfield Park (1814)",
    "northangerabbey": "Northanger Abbey (1817)",
    "persuasion": "Persuasion (1817)",
    "prideprejudice": "Pride and Prejudice (1813)",
    "sensesensibility": "Sense and Sensibility (1811)",
}


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



def write_sample_text(corpus, path):
    """The sample novel as ONE document (its paragraphs on consecutive lines): the exporter cuts it
    into full-length sequences, each starting with BOS, so BOS rows are 1 in --ctx."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(corpus[SAMPLE_NOVEL]) + "\n")


def write_training_text(corpus, path, train_tokens, chars_per_token=4.0):
    """The five other novels, one document each (blank-line separated), each cut after the paragraph
    that passes its share of about train_tokens tokens (so all five contribute; the exporter's
    --max-tokens then stops at exactly train_tokens)."""
    share = train_tokens * chars_per_token * 1.2 / 5  # 20% spare so the export reaches train_tokens
    docs = []
    for name in sorted(corpus):
        if name == SAMPLE_NOVEL:
            continue
        kept, size = [], 0
        for paragraph in corpus[name]:
            kept.append(paragraph)
            size += len(paragraph) + 1
            if size >= share:
                break
        docs.append("\n".join(kept))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n\n".join(docs) + "\n")
