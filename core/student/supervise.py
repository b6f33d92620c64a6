"""The checker process: `python -m core.student.supervise REQUEST_DIR`, started by `client`.

REQUEST_DIR holds `request.json` and the student's package under `src/`. The checker reads
the files (never runs them), confines every syntax error to its function, finds the
course's stubs, then forks one confined child per function (`sandbox`), `parallel` at a
time, and judges what comes back (`checks`). It prints JSON lines on stdout:

    {"event": "progress", "done": 3, "total": 19, "name": "rnn_forward"}
    {"event": "report", "report": {...Report.to_dict()...}}
    {"event": "captions", "captions": [[...], ...]}          (a "sample" request)
    {"event": "error", "message": "..."}

Sentences for a person (`core.text.message`) travel as {"__message__": template, "values": ...,
"text": ...} (`report.packed`), so the app can show them in the reader's language.

It is started as `python -I` with BLAS on one thread, so forking is safe, and with a clean
environment; started as root, it first gives the folder to an unprivileged uid and becomes
it (`walls.drop_root`), where the Python installation is open to such a user.
It never imports streamlit.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from . import layer_checks, model_checks, sandbox, walls
from ..text import message
from .checks import Context, Spec, Student, failed, what_differs
from .report import (CRASHED, MISSING, NOT_IMPLEMENTED, PASSED, TIMEOUT, WRONG, Report, Result, packed, status_word,
                     unpacked)
from .sandbox import Limits, Outcome, Task, describe_exception, run_tasks
from .checks import CHANGED
from .source import LAYERS_FILE, MODEL_FILE, repaired

SPECS: list[Spec] = [*layer_checks.SPECS, *model_checks.SPECS]
PROCESSES_PER_TASK = Limits().processes
MODULE_FILES = {"rnn_layers": LAYERS_FILE, "classifiers.rnn": MODEL_FILE}


def _emit(event: dict) -> None:
    sys.stdout.write(json.dumps(packed(event), allow_nan=False, default=str) + "\n")
    sys.stdout.flush()


def _import_probe(src: Path, package: str):
    """A task: import both modules, say what each one defines (or how it failed)."""
    def run(channel) -> dict:
        student = Student(src, package)
        found = {}
        for module in MODULE_FILES:
            channel.stage(message("importing {file}", file=MODULE_FILES[module]))
            try:
                m = student.module(module)
            except BaseException as e:
                if isinstance(e, MemoryError):
                    raise
                found[module] = {"error": describe_exception(e, [src])}
                continue
            names = [n for n, v in vars(m).items() if callable(v)]
            cls = vars(m).get("CaptioningRNN")
            methods = [n for n in ("__init__", "loss", "sample") if cls is not None and callable(getattr(cls, n, None))]
            found[module] = {"names": names, "methods": methods if isinstance(cls, type) else []}
        return found
    return run


def _defined(spec: Spec, probe: dict) -> bool:
    found = probe.get(spec.module, {})
    if "." in spec.attribute:
        return spec.attribute.split(".")[1] in found.get("methods", [])
    return spec.attribute in found.get("names", [])


def _static(src: Path, package: str) -> tuple[dict, dict]:
    """Repair syntax errors in place (for the salvage); return (the first syntax error of each
    module that does not import as handed in, syntax problems by function). A module that
    imports a broken one (the model's `from ..rnn_layers import *`) does not import either.
    A syntax error outside any function is left for the import to report."""
    broken, problems, texts = {}, {}, {}
    for module, file in MODULE_FILES.items():
        path = src / package / file
        try:
            text = texts[module] = path.read_text(encoding="utf-8")
        except OSError:
            continue
        fixed = repaired(text, f"{package}/{file}")
        if fixed.text != text:
            path.write_text(fixed.text, encoding="utf-8")
        for problem in fixed.problems:
            if problem.function is not None:
                problems[(module, problem.function)] = problem
        if fixed.problems and fixed.problems[0].function is not None:
            broken[module] = fixed.problems[0]
    if "rnn_layers" in broken and "classifiers.rnn" not in broken and \
            _IMPORTS_LAYERS.search(texts.get("classifiers.rnn", "")):
        broken["classifiers.rnn"] = broken["rnn_layers"]
    return broken, problems


_IMPORTS_LAYERS = re.compile(r"^\s*(?:from|import)\s+[\w.]*rnn_layers\b", re.M)


def _syntax_error(problem) -> dict:
    return {"type": "SyntaxError", "message": f"{problem.message} (line {problem.line})",
            "traceback": [{"file": problem.file, "line": problem.line, "function": problem.function or "<module>",
                           "code": problem.code}], "student": True}


def _not_importing(spec: Spec, problem, salvage: Result) -> Result:
    """The notebook's verdict on a function of a module that does not import: crashed, with
    the syntax error as its cause; what the salvage found goes in a note of its own."""
    if salvage.status == CRASHED and (salvage.error or {}).get("type") == "SyntaxError" \
            and salvage.error["traceback"][0]["line"] == problem.line:
        note = None                              # the function the error is in
    elif salvage.hint:
        note = message("Set apart from that syntax error, this function is {status}: {hint}",
                       status=status_word(salvage.status), hint=salvage.hint)
    else:
        note = message("Set apart from that syntax error, this function is {status}.",
                       status=status_word(salvage.status))
    hint = message("{file} does not import, so nothing of it runs (the notebook's first cell fails): a "
                   "syntax error at line {line}: {message}: {code}", file=problem.file, line=problem.line,
                   message=problem.message, code=problem.code)
    return Result(spec.name, CRASHED, error=_syntax_error(problem), hint=hint, optional=spec.optional,
                  details=[note, *salvage.details] if note is not None else [], warnings=salvage.warnings,
                  output=salvage.output, seconds=salvage.seconds)


def _import_result(spec: Spec, error: dict, file: str) -> Result:
    frames = error.get("traceback") or []
    values = dict(file=file, type=str(error.get("type")), message=str(error.get("message")))
    if frames and error.get("student"):
        hint = message("{file} could not be imported ({where}, line {line}): {type}: {message}",
                       where=str(frames[-1]["file"]), line=frames[-1]["line"], **values)
    else:
        hint = message("{file} could not be imported: {type}: {message}", **values)
    return Result(spec.name, CRASHED, error=error, optional=spec.optional, hint=hint)


def check(src: Path, package: str, request: dict, workdir: Path) -> Report:
    """Check every function of the package under `src`."""
    started = time.monotonic()
    limits = Limits(seconds=float(request.get("seconds", 10.0)), memory_mb=int(request.get("memory_mb", 2048)))
    parallel = max(1, int(request.get("parallel") or os.cpu_count() or 1))
    only = set(request.get("only") or [])
    specs = [s for s in SPECS if not only or s.name in only]
    broken, problems = _static(src, package)
    report = Report(package, request.get("origin", ""), provided=list(request.get("provided", [])),
                    notes=list(request.get("notes", [])))
    probe = run_tasks([Task("import", _import_probe(src, package))], workdir, Limits(seconds=limits.seconds,
                      memory_mb=limits.memory_mb), roots=[src])[0]
    report.sandbox = probe.sandbox
    results: dict[str, Result] = {}
    if probe.kind != "ok":                      # the import itself hung, died or ate the memory
        verdict = failed("import", probe) or Result("import", CRASHED)
        for spec in specs:
            results[spec.name] = Result(spec.name, verdict.status, error=verdict.error, output=probe.output,
                                        hint=message("Importing your files: {hint}", hint=verdict.hint),
                                        optional=spec.optional)
    imported = probe.value if isinstance(probe.value, dict) else {}
    tasks = []
    for spec in specs:
        if spec.name in results:
            continue
        file = f"{package}/{MODULE_FILES[spec.module]}"
        module_error = imported.get(spec.module, {}).get("error")
        problem = problems.get((spec.module, spec.attribute))
        if module_error:
            results[spec.name] = _import_result(spec, module_error, file)
        elif problem is not None:
            results[spec.name] = Result(spec.name, CRASHED, optional=spec.optional, error=_syntax_error(problem),
                                        hint=message("A syntax error in {file}, line {line}: {message}: {code}",
                                                     file=problem.file, line=problem.line, message=problem.message,
                                                     code=problem.code))
        elif not _defined(spec, imported):
            hint = (message("{file} has no {name}.", file=file, name=spec.attribute) if "." not in spec.attribute
                    else message("{file} has no the method {name}.", file=file, name=spec.attribute))
            results[spec.name] = Result(spec.name, MISSING, optional=spec.optional, hint=hint)
        else:
            tasks.append(Task(spec.name, _spec_task(spec, src, package)))
    cost = {s.name: s.cost for s in specs}
    tasks.sort(key=lambda t: -cost[t.key])      # the longest first: two lanes end together
    total = len(specs)
    done = [len(results)]

    def progress(outcome: Outcome) -> None:
        done[0] += 1
        _emit({"event": "progress", "done": done[0], "total": total, "name": outcome.key})

    _emit({"event": "progress", "done": done[0], "total": total, "name": None})
    outcomes = {o.key: o for o in run_tasks(tasks, workdir, limits, roots=[src], parallel=parallel,
                                            on_done=progress)}
    context = Context(results=results)
    by_name = {s.name: s for s in SPECS}
    for spec in specs:                          # judged in order: a judge may cite earlier verdicts
        if spec.name in outcomes:
            outcome = outcomes[spec.name]
            result = failed(spec.name, outcome, spec.optional)
            if result is not None and spec.explain is not None and isinstance(outcome.value, dict):
                result.hint = spec.explain(outcome.value) or result.hint
            if result is None:
                try:
                    result = spec.judge(outcome.value, context)
                except Exception as e:          # a check that could not read what came back
                    result = Result(spec.name, CRASHED, optional=spec.optional,
                                    hint=message("Caption Lab could not judge what it returned ({type}: {error}).",
                                                 type=type(e).__name__, error=str(e)))
                result.output, result.seconds = outcome.output, outcome.seconds
            result = _needing(result, spec, by_name, context)
            _with_dependencies(result, spec, context)
            if result.status == WRONG and not result.hint:
                result.hint = what_differs(result)
            _changed_inputs(result, outcome)
            results[spec.name] = result
        context.results[spec.name] = results[spec.name]
    for spec in specs:
        if spec.module in broken:
            results[spec.name] = _not_importing(spec, broken[spec.module], results[spec.name])
    report.results = {s.name: results[s.name] for s in specs}
    report.seconds = time.monotonic() - started
    return report


def _with_dependencies(result: Result, spec: Spec, context: Context) -> None:
    """Say so when a function crashed or timed out while something it uses is unfinished."""
    if result.status not in (CRASHED, TIMEOUT):
        return
    called = spec.calls if spec.calls is not None else spec.uses
    unfinished = [u for u in called if context.status(u) not in (None, "passed", "wrong")]
    if unfinished:
        statuses = sorted({context.status(u) for u in unfinished}, key=lambda s: s.replace("_", " "))
        words = [status_word(s) for s in statuses]
        values = dict(names=", ".join(unfinished), status=words[0] if len(words) == 1 else " / ".join(words))
        result.details.append(message("It uses {names}, which is {status}: fix that first.", **values)
                              if len(unfinished) == 1 else
                              message("It uses {names}, which are {status}: fix those first.", **values))


def _needing(result: Result, spec: Spec, by_name: dict, context: Context) -> Result:
    """Not implemented, when a function it needs is (the course's stub, judged by what it did
    when run) or is missing, whatever became of the function itself."""
    if result.status == PASSED:
        return result
    missing = [u for u in spec.uses if by_name.get(u) and context.status(u) in (NOT_IMPLEMENTED, MISSING)]
    if not missing:
        return result
    return Result(spec.name, NOT_IMPLEMENTED, optional=spec.optional, output=result.output, seconds=result.seconds,
                  hint=message("It needs {name}, which is not implemented yet.", name=missing[0])
                  if len(missing) == 1 else
                  message("It needs {names}, which are not implemented yet.", names=" and ".join(missing)))


def _changed_inputs(result: Result, outcome: Outcome) -> None:
    """A warning for each input the function changed in place (its verdict stays the notebook's)."""
    changed = outcome.value.get("__changed__") if isinstance(outcome.value, dict) else None
    for pair in (changed if isinstance(changed, list) else [])[:10]:
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair):
            warning = message("{function} changes {argument} in place: harmless in the notebook, but a caller "
                              "that reuses the array gets wrong numbers.", function=pair[0][:80],
                              argument=pair[1][:80])
            result.warnings.append(warning)


def _spec_task(spec: Spec, src: Path, package: str):
    def run(channel):
        channel.data["__changed__"] = CHANGED           # filled as the student's functions run
        value = spec.run(Student(src, package), channel)
        if isinstance(value, dict):
            value.setdefault("__changed__", CHANGED)
        return value
    return run


# --- sampling with the student's own `sample` ------------------------------------------------

def sample(src: Path, package: str, request: dict, workdir: Path) -> dict:
    """Run the student's CaptioningRNN.sample on given weights and features."""
    with np.load(workdir.parent / "arrays.npz", allow_pickle=False) as arrays:
        params = {k[len("param_"):]: arrays[k] for k in arrays.files if k.startswith("param_")}
        features = arrays["features"]
    config = request["config"]

    def run(channel):
        channel.stage(message("building your model"))
        student = Student(src, package)
        cls = student.model_class()
        model = cls(request["word_to_idx"], input_dim=config["input_dim"], wordvec_dim=config["wordvec_dim"],
                    hidden_dim=config["hidden_dim"], cell_type=config["cell_type"],
                    dtype=np.dtype(config.get("dtype", "float32")))
        for k, v in params.items():
            model.params[k] = v.copy()
        channel.stage(message("running your sample"))
        return {"captions": model.sample(features, max_length=int(request["max_length"]))}
    outcome = run_tasks([Task("sample", run)], workdir, Limits(seconds=float(request.get("seconds", 60.0)),
                                                               memory_mb=int(request.get("memory_mb", 2048))),
                        roots=[src])[0]
    verdict = failed("CaptioningRNN.sample", outcome)
    if verdict is not None:
        return {"event": "error", "message": verdict.hint or verdict.status, "error": verdict.error,
                "output": outcome.output}
    captions = (outcome.value or {}).get("captions")
    if not isinstance(captions, np.ndarray) or captions.dtype.kind not in "iu" or captions.ndim != 2:
        shown = f"{captions!r:.80}"
        return {"event": "error", "message": message("sample returned {value}, not an (N, max_length) array of "
                                                     "word ids", value=shown)}
    return {"event": "captions", "captions": captions.tolist(), "output": outcome.output}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]).resolve()
    user = walls.drop_root(folder)              # before anything of the student's is read
    request = unpacked(json.loads((folder / "request.json").read_text()))
    if os.getuid() == 0:                        # still root: RLIMIT_NPROC binds it not, a pids cgroup does
        parallel = max(1, int(request.get("parallel") or os.cpu_count() or 1))
        sandbox.PIDS_CGROUP = walls.pids_cgroup(PROCESSES_PER_TASK * parallel + 16) is not None
    src, package = folder / "src", request["package"]
    workdir = folder / "work"
    workdir.mkdir(exist_ok=True)
    try:
        if request.get("kind") == "sample":
            _emit(sample(src, package, request, workdir))
        else:
            report = check(src, package, request, workdir)
            report.sandbox.update(user)
            _emit({"event": "report", "report": report.to_dict()})
    except Exception as e:                      # never a silent death: say what broke
        _emit({"event": "error", "message": f"{type(e).__name__}: {e}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
