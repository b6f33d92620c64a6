"""Checking a student's own implementation of the exercise, isolated from everything else.

    from core.student import check, find_bundle
    report = check(find_bundle(Path("~/cs231n/assignment3").expanduser()))
    for name, result in report.results.items():
        print(name, result.status, result.hint)

`source` reads the student's package (a folder, an upload, a zip) without running it;
`client.check` starts the checker process (`supervise`), which forks one confined child
per function (`sandbox`, `confine`) to call the student's code on the notebook's inputs
and Caption Lab's probes, and judges what comes back (`layer_checks`, `model_checks`,
`bugs`) into a `Report`. The command line is `python -m core.student check PATH [--json]`.
Nothing here imports streamlit.
"""
from .client import CheckFailed, check, sample
from .report import STATUSES, Check, Heat, Report, Result
from .source import Bundle, NotAnAssignment, bundle_from_uploads, find_bundle

__all__ = ["Bundle", "Check", "CheckFailed", "Heat", "NotAnAssignment", "Report", "Result", "STATUSES",
           "bundle_from_uploads", "check", "find_bundle", "sample"]
