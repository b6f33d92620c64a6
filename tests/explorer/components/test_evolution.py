"""The evolution view's words right: counted in the truth's order, not by position."""
from explorer.components.evolution import marked_caption


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
