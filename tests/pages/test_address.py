"""What the address holds, through the real app: a view that a link reopens in a fresh session,
one image for Inspect and Compare, each person's own model, no identity in any address,
hostile values, and a deleted run told to the person who deleted it and to its owner."""
import pytest

from core.data.demo import ensure_demo_dataset
from explorer import state
from explorer.components import step_view
from explorer.runs.settings import RunConfig

from tests.support.waiting import wait_for

from .conftest import no_exception, rerun_until

DATASET = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
SMALL = RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10, snapshot_every=5)


def address(at) -> dict:
    """The address's query parameters as one string each."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def finished_run(owner: str) -> str:
    """A small run of `owner`'s, trained to the end by the app's own runner."""
    runner = state.runner()
    run_id = runner.start(SMALL, DATASET, owner=owner)
    assert runner.wait(run_id, timeout=180).status == "done"
    wait_for(lambda: not runner.capacity().running, 60, "its worker to exit")      # then it can be deleted
    return run_id


def model_line(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Model:**"))


def view(at) -> tuple:
    """What Inspect shows: model run, image, sampling, the step on show, the open tab."""
    decoder = at.session_state[step_view.DECODER]
    spec = at.session_state[step_view.DECODER_SPEC]
    return (at.session_state[state.MODEL_RUN], spec[1], spec[2:], decoder.steps[-1].t if decoder.steps else None,
            at.session_state["inspect.view.kept"])


def test_a_link_to_a_view_opens_the_same_view_in_a_fresh_session(app):
    at = app("train")
    run_id = finished_run(at.session_state[state.OWNER])
    at.switch_page("../pages/inspect.py").run()            # this person's own newest run is the default
    assert at.session_state[state.MODEL_RUN] == run_id and model_line(at).endswith("your run")
    at.segmented_control(key="inspect.image_from").set_value("val").run()
    at.number_input(key="inspect.image_index").set_value(42).run()
    at.segmented_control(key=step_view.STRATEGY).set_value("temperature").run()
    at.slider(key=step_view.TEMPERATURE).set_value(0.7).run()
    at.number_input(key=step_view.SEED).set_value(3).run()
    for _ in range(3):
        at.button(key="inspect.step").click().run()
    assert no_exception(at)
    link = address(at)
    assert link | {"run": run_id, "image": "val:42", "strategy": "temperature", "temperature": "0.7",
                   "seed": "3", "t": "2", "tab": "step-through"} == link
    assert "me" not in link and "admin" not in link
    before = view(at)

    opened = app("inspect", query=link)                    # a fresh session: another browser, or a reload
    assert no_exception(opened) and not opened.warning
    assert view(opened) == before
    assert address(opened) == link

    compare = app("compare", query={"run": run_id, "image": "val:42", "tab": "strategies-side-by-side"})
    assert no_exception(compare) and not compare.warning
    assert compare.session_state["compare.view.kept"] == "Strategies side by side"
    assert compare.number_input(key="compare.image_index").value == 42
    assert address(compare) | {"run": run_id, "image": "val:42", "tab": "strategies-side-by-side"} == \
        address(compare)
    assert not {"t", "strategy", "seed"} & set(address(compare))       # Inspect's alone
    scores = app("compare", query={"tab": "split-scores", "image": "val:42"})
    assert scores.session_state["compare.view.kept"] == "Split scores"
    assert "image" not in address(scores)                              # no image on that tab: not in its view


def test_the_image_chosen_in_inspect_is_the_one_compare_opens(app):
    at = app("compare", query={"tab": "strategies-side-by-side"})        # the tab that shows one image
    assert at.number_input(key="compare.image_index").value == 0
    at.switch_page("../pages/inspect.py").run()
    at.segmented_control(key="inspect.image_from").set_value("train").run()
    at.number_input(key="inspect.image_index").set_value(7).run()
    at.switch_page("../pages/compare.py").run()
    assert no_exception(at)
    assert at.segmented_control(key="compare.image_from").value == "train"
    assert at.number_input(key="compare.image_index").value == 7
    assert address(at)["image"] == "train:7"
    at.number_input(key="compare.image_index").set_value(9).run()
    at.switch_page("../pages/inspect.py").run()
    assert at.session_state[step_view.DECODER_SPEC][1] == ("train", 9)


def test_each_person_opens_their_own_model_and_sees_whose_another_is(app):
    other = finished_run("a1b2" + "0" * 28)                # another person's run, the newest on the server
    at = app("inspect")
    assert at.radio(key="model.source").value == "Untrained"      # never someone else's newest
    assert at.session_state[state.MODEL_RUN] is None and "run" not in address(at)
    at.radio(key="model.source").set_value("Training run").run()
    assert no_exception(at)
    assert at.selectbox(key="model.run").value == other
    assert "other (a1b2)" in at.selectbox(key="model.run").format_func(other)
    assert model_line(at).endswith("another person's run (a1b2)")
    assert address(at)["run"] == other


@pytest.mark.parametrize("query, says", [
    ({"run": "../../etc/passwd"}, "That run is not on this server"),
    ({"run": "20200101-000000-abcdef"}, "is not on this server any more"),
    ({"image": "val:99999"}, "The link's image is not one of this dataset's"),
    ({"image": "test:1"}, "The link's image is not one of this dataset's"),
    ({"t": "-5"}, "The link's step `t` must be a whole number"),
    ({"t": "seven"}, "The link's step `t` must be a whole number"),
    ({"strategy": "<script>", "temperature": "abc", "seed": "1e9"}, "strategy, temperature, seed cannot be used"),
    ({"temperature": "9.5"}, "temperature cannot be used"),
    ({"tab": "nope"}, "The link names a tab this page does not have"),
])
def test_a_hostile_value_in_a_link_gives_a_sentence_and_the_default(app, query, says):
    at = app("inspect", query=query)
    assert no_exception(at)
    assert any(says in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.session_state[state.MODEL_RUN] is None                     # an untrained model, val image 0
    assert at.session_state[step_view.DECODER_SPEC][1:3] == (("val", 0), "greedy")
    assert at.session_state[step_view.DECODER].t == 0
    link = address(at)
    assert not {"run", "t", "seed", "temperature"} & set(link)
    assert link["image"] == "val:0" and link["strategy"] == "greedy" and link["tab"] == "step-through"


def infos(at) -> list[str]:
    return [i.value for i in at.info]


def test_a_deleted_run_is_a_sentence_for_the_deleter_and_for_its_owner(app, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_ADMIN_TOKEN", "secret")
    owner = app("train")
    me = owner.session_state[state.OWNER]
    first, second = finished_run(me), finished_run(me)
    label = state.runner().get(first).label
    owner.session_state[state.MODEL_RUN] = first                       # "Use in Inspect & Compare"
    owner.switch_page("../pages/inspect.py").run()
    assert owner.session_state[state.MODEL_RUN] == first
    owner.switch_page("../pages/train.py").run()
    owner.selectbox(key=state.TRAIN_RUN).set_value(first).run()

    admin = app("train", query={"admin": "secret"})                   # deletes the owner's run
    admin.selectbox(key=state.TRAIN_RUN).set_value(first).run()
    admin.button(key="train.confirm_delete.ask").click().run()
    admin.button(key="train.confirm_delete.yes").click().run()
    assert no_exception(admin) and first not in [r.run_id for r in state.runner().runs()]
    assert any(f"Run “{label}” was deleted by the admin. You now follow" in i for i in infos(admin)), infos(admin)

    owner.run()                                                        # the owner's Train page, polling
    assert no_exception(owner) and owner.session_state[state.TRAIN_RUN] == second
    assert any(f"Run “{label}” was deleted by the admin. You now follow" in i for i in infos(owner)), infos(owner)
    owner.switch_page("../pages/inspect.py").run()
    assert no_exception(owner) and owner.session_state[state.MODEL_RUN] == second
    assert any(f"Run “{label}” was deleted by the admin. The page shows another run" in i for i in infos(owner))

    owner.switch_page("../pages/train.py").run()                       # the owner deletes its last run
    owner.button(key="train.confirm_delete.ask").click().run()
    owner.button(key="train.confirm_delete.yes").click().run()
    assert no_exception(owner) and state.runner().runs() == []
    assert any("was deleted by you." in i for i in infos(owner)), infos(owner)
    for page in ("inspect", "compare", "your_code"):
        owner.switch_page(f"../pages/{page}.py").run()
        assert no_exception(owner)
    owner.switch_page("../pages/inspect.py").run()
    assert any("was deleted by you." in i for i in infos(owner)), infos(owner)


def test_a_run_whose_folder_is_gone_is_a_sentence_not_a_traceback(app):
    import shutil

    at = app("train")
    run_id = finished_run(at.session_state[state.OWNER])
    at.session_state[state.MODEL_RUN] = run_id
    at.switch_page("../pages/inspect.py").run()
    at.switch_page("../pages/train.py").run()
    assert at.session_state[state.TRAIN_RUN] == run_id
    shutil.rmtree(state.runner().runs_dir / run_id)                    # removed by hand on the server
    gone = f"Run `{run_id}` is not on this server any more: it was deleted, or its folder is gone."
    rerun_until(at, lambda at: any(gone in i for i in infos(at)), timeout=30,
                what="the Train page to see the folder gone (runs folders are rescanned every few seconds)")
    for page in ("inspect", "compare"):
        at.switch_page(f"../pages/{page}.py").run()
        assert no_exception(at) and not at.error, (page, [e.value for e in at.error])
        assert any(gone in i for i in infos(at)), (page, infos(at))
