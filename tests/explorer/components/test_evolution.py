"""The evolution view's words right: counted in the truth's order, not by position; and what a
run's files say stays inside its own row."""
import re

from explorer.components.evolution import SAMPLE_ROW, _safe, marked_caption, sample_row


def test_a_word_left_out_does_not_make_every_later_word_wrong():
    truth = "two small green diamonds and two big blue diamonds"
    marked, right = marked_caption("two green diamonds and two big blue diamonds", truth)
    assert right == 8                                   # by position it was 1 of 9
    assert marked.count(":green[") == 8 and ":red[" not in marked


def test_words_out_of_order_or_not_in_the_truth_are_red():
    marked, right = marked_caption("blue a circle <UNK>", "a blue circle")
    assert right == 2                                   # "a circle" or "blue circle": two in order
    assert marked.count(":green[") == 2 and marked.count(":red[") == 2
    assert ":red[‹UNK›]" in marked                      # markdown shows the special word as it is
    assert marked_caption("", "a blue circle") == (":gray[(nothing)]", 0)


HOSTILE = 'a dog\n\n```\n$x$ `y` ![](http://example.invalid/x.png) "q" <b>\\'   # a student's run wrote it


def test_a_hostile_truth_stays_in_its_row():
    """What a run's files say cannot end the row's HTML block, open a code block or a formula,
    or leave the hover text: the four samples share one element."""
    marked, _right = marked_caption("a dog `runs` $", HOSTILE)
    row = sample_row("", marked, "2 of 9 words right · truth: " + _safe(HOSTILE), truth="Truth: " + HOSTILE)
    assert row.count("\n\n") == 2                        # the blank lines around its Markdown, no other
    markdown = row.split("\n\n")[1]
    assert not re.search(r"(?<!\\)[`$]", markdown)        # every backtick and dollar escaped
    title = re.search(r'title="([^"]*)"', row).group(1)
    assert "\n" not in title and "&quot;q&quot;" in title and "&lt;b&gt;" in title


def test_a_row_without_a_score_in_the_page_s_own_type():
    """The Lesson's overfit step: the caption alone, at the page's size, no line under it."""
    row = sample_row("<img>", ":green[a] :red[dog]", None, small=False)
    assert ":gray[" not in row and "font-size" not in row and row.count("\n\n") == 2
    assert ":gray[3 of 4 words right]" in sample_row("", "a", "3 of 4 words right")
    assert "font-size:0.8rem" in sample_row("", "a", "3 of 4 words right")


def test_presenting_the_truths_are_under_a_help_icon_too():
    from streamlit.testing.v1 import AppTest

    def view():
        import streamlit as st

        from explorer.components.evolution import evolution_view
        from explorer.runs.base import Evolution
        st.session_state["app.present"] = True
        evolution_view(Evolution([{"image_idx": 0, "url": "", "truth": "a red `ball`"},
                                  {"image_idx": 1, "url": "", "truth": "two blue stars"}],
                                 [(0, ["a ball", "two stars"])]), live=True)

    at = AppTest.from_function(view).run()
    assert not at.exception
    [samples] = [m for m in at.markdown if SAMPLE_ROW in m.value]
    assert samples.value.count('title="Truth: ') == 2
    assert samples.proto.help.splitlines()[-2:] == ["1. a red \\`ball\\`", "2. two blue stars"]
