"""Your code: check a student's own rnn_layers.py and rnn.py function by function, then train it."""
from pathlib import Path

import streamlit as st

from core.student import CheckFailed, NotAnAssignment, bundle_from_uploads, check, find_bundle
from explorer import code_access, presenter, state
from explorer.components.code_report import first_to_look_at, function_detail, report_overview, status_text
from explorer.components.code_training import train_beside
from explorer.i18n import N_, _

SOURCE = "code.source"                 # "folder" or "upload"
FOLDER = "code.folder"                 # the assignment folder typed
UPLOADS = "code.uploads"               # the file uploader
REPORT = "code.report"                 # the last Report
BUNDLE = "code.bundle"                 # the Bundle it checked
FUNCTION = "code.function"             # the function shown in full
SOURCES = {"folder": N_("A folder on this computer"), "upload": N_("Upload files")}
MAX_UPLOAD_MB = 20

presenter.heading(_("Your code"), _(
    "Point Caption Lab at your own assignment: it runs the notebook's checks on every function of your "
    "`rnn_layers.py` and `classifiers/rnn.py`, then probes that pin a bug down, and says for each "
    "function what is right, what is wrong, where in the array the error sits and its likely cause. "
    "Your code runs in a sandbox, one process per function, never inside this app. Then train your "
    "`CaptioningRNN` beside Caption Lab's and see whether the two loss curves part."))

access = code_access.decide(code_access.setting(), st.context.ip_address, dict(st.context.headers))
if not access.allowed:
    st.warning(_(access.reason), icon=":material/lock:")
    st.stop()

offered = code_access.sources(st.context.ip_address, dict(st.context.headers))
if st.session_state.get(SOURCE) not in offered:
    st.session_state[SOURCE] = offered[0]        # the widget's value, so it takes no default of its own
source = st.segmented_control(_("Where is your code?"), list(offered), format_func=lambda s: _(SOURCES[s]),
                              required=True, key=SOURCE, persist_state="session")
if source == "folder":
    folder = st.text_input(_("Your assignment folder"), key=FOLDER, placeholder="~/cs231n/assignment3",
                           persist_state="session",
                           help=_("The folder that holds cs231n/ (or your course's package, such as daseCV/), "
                                  "with rnn_layers.py and classifiers/rnn.py inside it."))
else:
    uploads = st.file_uploader(_("Your rnn_layers.py and rnn.py (and layers.py if you have one), or a zip of your "
                                 "package folder"), type=["py", "zip"], accept_multiple_files=True, key=UPLOADS,
                               max_upload_size=MAX_UPLOAD_MB)

if st.button(_("Check my code"), type="primary", icon=":material/fact_check:"):
    try:
        if source == "folder" and "folder" not in offered:
            raise NotAnAssignment(_("Only a browser on this server's own machine may check a folder of the "
                                    "server's: upload your files instead."))
        if source == "folder":
            if not (folder or "").strip():
                raise NotAnAssignment(_("Type the path of your assignment folder first."))
            bundle = find_bundle(Path(folder.strip()).expanduser())
        else:
            bundle = bundle_from_uploads([(f.name, f.getvalue()) for f in uploads or []])
    except NotAnAssignment as e:
        st.error(_(e.args[0]) if e.args else str(e), icon=":material/folder_off:")
    else:
        bar = st.progress(0.0, text=_("Starting the checker…"))

        def progress(event: dict) -> None:
            values = dict(done=event["done"], total=event["total"], name=event.get("name"))
            bar.progress(event["done"] / max(event["total"], 1),
                         text=_("Checked {done} of {total} functions: {name}").format(**values) if event.get("name")
                         else _("Checked {done} of {total} functions").format(**values))

        try:
            report = check(bundle, progress=progress)
        except CheckFailed as e:
            st.error(_("The check could not finish: {error}").format(error=_(e.args[0]) if e.args else e),
                     icon=":material/warning:")
        else:
            st.session_state[REPORT], st.session_state[BUNDLE] = report, bundle
            st.session_state[FUNCTION] = first_to_look_at(report)
        bar.empty()

report = st.session_state.get(REPORT)
if report is None:
    st.info(_("Give the folder that holds your `cs231n/` (or upload your files) and press **Check my code**. "
              "Unfinished functions are fine: they show as *not implemented*, and the LSTM is optional."),
            icon=":material/info:")
    st.stop()

report_overview(report)

st.subheader(_("One function in full"))
name = st.selectbox(_("Function"), list(report.results), key=FUNCTION, persist_state="session",
                    format_func=lambda n: f"{n} · {status_text(report.results[n])}")
function_detail(report.results[name])

st.subheader(_("Train your model beside Caption Lab's"))
train_beside(report, st.session_state[BUNDLE], state.dataset(), state.runner(), state.owner_id())
