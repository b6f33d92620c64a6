"""Your code in a real browser: a student types the path of a folder with a bug, checks it,
and reads what is wrong, where, and why; on a 1024 x 768 projector nothing is cut off."""
import pytest

from tests.support.student_corpus import make_bug

from .conftest import assert_no_errors, open_page, screenshot, wait_idle
from .test_inspect_compare import OVERFLOW_JS, PROJECTOR

pytestmark = pytest.mark.browser


def test_a_student_checks_a_folder_with_a_bug_and_sees_where_and_why(page, tmp_path):
    folder = make_bug(tmp_path, "rnn_backward_no_carry")
    open_page(page, "Your code")
    assert_no_errors(page)
    box = page.get_by_placeholder("~/cs231n/assignment3")
    box.fill(str(folder))
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Check my code").click()
    page.get_by_text("One function in full").wait_for(timeout=120_000)
    wait_idle(page)
    main = page.locator('[data-testid="stMain"]')
    text = main.inner_text()
    assert "17 passed" in text and "2 wrong" in text
    chosen = main.locator('[data-testid="stSelectbox"]').last
    assert "rnn_backward · wrong" in (chosen.inner_text() + chosen.locator("input").first.input_value()
                                      if chosen.locator("input").count() else chosen.inner_text())
    assert "The gradient from the next step is not added" in text
    assert main.locator('[data-testid="stVegaLiteChart"]').count() >= 1   # where in the array
    screenshot(page, "your-code-bug")
    page.set_viewport_size(PROJECTOR)
    wait_idle(page)
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, "your-code-bug-projector")


def test_an_upload_of_the_two_files_is_checked_too(page, tmp_path):
    folder = make_bug(tmp_path, "sample_writes_start")
    open_page(page, "Your code")
    page.get_by_text("Upload files", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        [str(folder / "cs231n" / "rnn_layers.py"), str(folder / "cs231n" / "classifiers" / "rnn.py")])
    wait_idle(page)
    page.get_by_role("button", name="Check my code").click()
    page.get_by_text("One function in full").wait_for(timeout=120_000)
    wait_idle(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "<START> is written into the output" in text
    assert "Supplied by Caption Lab, not yours: layers.py" in text
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "your-code-upload")
