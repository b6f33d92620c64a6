"""Lesson: the notebook's story as a guided path, one step per screen, each with a live view.

The steps are data (`explorer.lessons`); this page draws whichever lesson the address names
(`?lesson=captioning&step=3`): the step's text, something to try and its question on the
left, its live view (`explorer.components.lesson_views`) on the right. In a class
(`?class=CODE`, `explorer.components.class_panel`) the teacher's step is every follower's, and
the teacher's screen can show the join code instead of the step.

A follower's page is a fragment (`st.fragment`): when the teacher moves, its script presses
the page's hidden button (`class_panel.drawn`), and only the page reruns, not the app
around it (the sidebar, the styles, the navigation): a class of 30 is 30 such reruns at
once, so each costs the server less (measured: `benchmarks.classroom_load --scenarios
follow:1`). Its widgets (an answer, a view's buttons) rerun the page alone too.
"""
import streamlit as st

from explorer import address, state
from explorer.components import class_panel, lesson_models, lesson_player
from explorer.components.lesson_views import VIEWS
from explorer.i18n import _


def _page(ds) -> None:
    """The step on show, with the class's bar and controls; for a follower, a fragment."""
    seat = class_panel.seat()                  # the class this tab is in, if any
    lesson, index = lesson_player.current(seat)
    seat = class_panel.publish(seat, lesson, index)   # the teacher's step is the class's
    step = lesson.steps[index]
    lesson_player.header(lesson, index, seat)
    class_panel.bar(seat)

    if class_panel.showing_join(seat):
        class_panel.join_panel(seat)           # the QR code and the link, large, until hidden
        st.stop()

    text, view = st.columns([2, 3], gap="medium")
    with text:
        st.markdown(_(step.text))
        if step.try_this:
            st.markdown(_("**Try this.** {what}").format(what=_(step.try_this)))
        revealed = lesson_player.question(step, index, seat)
    with view:
        draw = VIEWS.get(step.view)
        if draw is None:
            st.error(_("This step asks for the view “{view}”, which does not exist. The views are: {views}.").format(
                view=step.view, views=", ".join(VIEWS)))
        elif step.question is not None and step.question.conceals and not revealed and seat and not seat.teacher:
            st.info(_("The view shows the answer: it appears on your screen when the teacher reveals it."),
                    icon=":material/visibility_off:")
        elif step.question is not None and step.question.conceals and not revealed:
            st.info(_("Answer the question first: the view shows the answer. Press **Reveal the answer** when "
                      "you are ready."), icon=":material/visibility_off:")
        else:
            draw(ds, **dict(step.options))
    class_panel.drawn(seat)                    # a follower's page drew the class's step to its end


def _followed(ds) -> None:
    """A follower's page, as a fragment: its reruns (the teacher's moves among them) end here,
    not in `explorer.app`, so the address notes the step they leave on show."""
    _page(ds)
    address.finish()


ds = state.dataset()
lesson_models.prepare(ds)                  # the later steps' models, trained meanwhile if missing
if class_panel.following():
    st.fragment(_followed)(ds)             # reruns only the page, not the app around it
else:
    _page(ds)
