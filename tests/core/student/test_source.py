"""Finding a student's package in a folder, an upload or a zip, and reading it without running it."""
import io
import zipfile

import pytest

from core.student.source import (NotAnAssignment, bundle_from_uploads, find_bundle, functions,
                                 guess_package, repaired, stubs)
from tests.support.student_corpus import CORRECT, TEMPLATE, make_assignment, template_files


def test_an_assignment_folder_gives_its_package_and_files():
    bundle = find_bundle(CORRECT)
    assert bundle.package == "cs231n"
    assert {"rnn_layers.py", "classifiers/rnn.py", "layers.py"} <= set(bundle.files)
    assert bundle.provided == ("layers.py",)             # the student has none: core's helpers
    assert find_bundle(CORRECT / "cs231n").files == bundle.files    # the package folder itself works too


def test_another_package_name_is_found_from_the_folder(tmp_path):
    bundle = find_bundle(make_assignment(tmp_path, "dase", package="daseCV"))
    assert bundle.package == "daseCV"


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "nothing-here", "no folder at"),
    (lambda tmp: (tmp / "file.txt").write_text("x") and tmp / "file.txt", "is a file"),
    (lambda tmp: tmp, "not an assignment folder"),
])
def test_a_folder_without_the_package_says_what_it_looked_for(tmp_path, make, words):
    with pytest.raises(NotAnAssignment, match=words):
        find_bundle(make(tmp_path))


def test_the_template_in_the_repo_is_the_generated_one():
    for name, text in template_files().items():
        assert (TEMPLATE / name).read_text() == text, name


def test_the_courses_stubs_are_found_and_written_code_is_not():
    template = (TEMPLATE / "cs231n" / "rnn_layers.py").read_text()
    written = (CORRECT / "cs231n" / "rnn_layers.py").read_text()
    assert {"rnn_step_forward", "rnn_backward", "word_embedding_backward", "lstm_backward"} <= stubs(template)
    assert not {"affine_forward", "sigmoid", "temporal_softmax_loss"} & stubs(template)   # given by the course
    assert stubs(written) == set()
    model = (TEMPLATE / "cs231n" / "classifiers" / "rnn.py").read_text()
    assert stubs(model) == {"CaptioningRNN.loss", "CaptioningRNN.sample"}


def test_a_syntax_error_is_confined_to_its_function_and_keeps_line_numbers():
    text = (CORRECT / "cs231n" / "rnn_layers.py").read_text()
    broken = text.replace("    da = dnext_h * (1 - next_h ** 2)", "    da = dnext_h * (1 - next_h ** 2", 1)
    fixed = repaired(broken, "cs231n/rnn_layers.py")
    line = text[:text.index("    da = dnext_h * (1 - next_h ** 2)")].count("\n") + 1
    assert [(p.function, p.line) for p in fixed.problems] == [("rnn_step_backward", line)]
    compile(fixed.text, "x", "exec")
    assert len(fixed.text.splitlines()) == len(text.splitlines())
    before, after = functions(text), functions(fixed.text)
    assert after["rnn_forward"] == before["rnn_forward"]          # the next function did not move


def test_uploaded_files_and_zips():
    layers = (CORRECT / "cs231n" / "rnn_layers.py").read_bytes()
    model = (CORRECT / "cs231n" / "classifiers" / "rnn.py").read_bytes()
    bundle = bundle_from_uploads([("rnn_layers.py", layers), ("rnn.py", model), ("notes.txt", b"x")])
    assert bundle.package == "cs231n" and bundle.files["classifiers/rnn.py"] == model.decode()
    assert any("notes.txt" in n for n in bundle.notes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("assignment3/daseCV/rnn_layers.py", layers)
        z.writestr("assignment3/daseCV/classifiers/rnn.py", model)
        z.writestr("assignment3/daseCV/classifiers/__init__.py", "import torch")
    zipped = bundle_from_uploads([("mine.zip", buffer.getvalue())])
    assert zipped.package == "daseCV"
    assert zipped.files["classifiers/__init__.py"] == ""        # the rest of a package is never imported
    with zipfile.ZipFile(buffer, "a") as z:                     # a path out of the zip: refused whole
        z.writestr("../evil.py", "x = 1")
    with pytest.raises(NotAnAssignment, match="outside the zip's own folder"):
        bundle_from_uploads([("mine.zip", buffer.getvalue())])


def test_an_upload_without_the_files_says_so():
    with pytest.raises(NotAnAssignment):
        bundle_from_uploads([("notes.txt", b"hello")])
    with pytest.raises(NotAnAssignment, match="not a zip"):
        bundle_from_uploads([("broken.zip", b"not a zip")])


def test_the_package_name_comes_from_the_files_own_imports():
    assert guess_package(["from daseCV.layers import *\n"]) == "daseCV"
    assert guess_package(["import numpy as np\n"]) == "cs231n"
