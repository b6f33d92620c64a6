"""What a check of a student's code found: one `Result` per function, gathered in a `Report`.

Statuses are spelled as the command line's `--json` prints them:

    passed           every check passed
    wrong            a check failed: `checks` has its numbers, `hint` the likely cause
    not_implemented  still the course's stub (returns None, raises NotImplementedError, `pass`)
    missing          the function (or the file, or the class) is not there
    crashed          it raised, or its process died: `error` has the trimmed traceback
    timeout          it ran longer than its time limit
    memory           it used more memory than its cap

Everything here is plain data that turns into JSON and back (`to_dict`, `from_dict`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..text import Message, decode_message, encode_message, message

PASSED, WRONG, NOT_IMPLEMENTED, MISSING = "passed", "wrong", "not_implemented", "missing"
CRASHED, TIMEOUT, MEMORY = "crashed", "timeout", "memory"
STATUSES = (PASSED, WRONG, NOT_IMPLEMENTED, MISSING, CRASHED, TIMEOUT, MEMORY)
# how a status reads in a sentence (the statuses themselves stay the values above)
LABELS = {PASSED: message("passed"), WRONG: message("wrong"), NOT_IMPLEMENTED: message("not implemented"),
          MISSING: message("missing"), CRASHED: message("crashed"), TIMEOUT: message("timed out"),
          MEMORY: message("used too much memory")}
# the status as a word where a sentence names another function's status ("rnn_forward is timeout too")
WORDS = {PASSED: message("passed"), WRONG: message("wrong"), NOT_IMPLEMENTED: message("not implemented"),
         MISSING: message("missing"), CRASHED: message("crashed"), TIMEOUT: message("timeout"),
         MEMORY: message("memory")}


def status_word(status: str | None) -> str:
    """`status` as the word a sentence about it uses (its value with spaces, translatable)."""
    return WORDS.get(status) or str(status).replace("_", " ")



# --- sentences across the checker's JSON ----------------------------------------------------
# A `core.text.Message` turns into a plain string in JSON; between the checker and the app
# it travels as {"__message__": template, "values": ..., "text": the English}, its template
# and values as `core.text.encode_message` writes them, so the app can still show it in the
# reader's language. The command line's --json prints plain text.

def packed(value):
    """`value` (JSON-able data) with every Message as a {"__message__": ...} object (or its
    English text, when its values are not JSON numbers and strings)."""
    if isinstance(value, Message):
        encoded = encode_message(value)
        if encoded is None:
            return str(value)
        return {"__message__": encoded["template"], "values": encoded["values"], "text": str(value)}
    if isinstance(value, dict):
        return {k: packed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [packed(v) for v in value]
    return value


def unpacked(value):
    """What `packed` wrote, with its Messages back (their English text if one cannot be rebuilt)."""
    if isinstance(value, dict):
        if "__message__" in value and set(value) <= {"__message__", "values", "text"}:
            kept = decode_message({"template": value["__message__"], "values": value.get("values") or {}})
            return kept if kept is not None else str(value.get("text", ""))
        return {k: unpacked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unpacked(v) for v in value]
    return value


@dataclass(frozen=True)
class Check:
    """One number the notebook (or a probe) prints, against what it must be."""

    name: str                          # "dx error", "loss difference", "T = 2: dWx error"
    value: float | None                # None: there was no number (wrong shape, not an array)
    threshold: float                   # the value must be below this
    passed: bool
    measure: str = "relative error"    # "relative error", "difference", "value"
    low: float | None = None           # a "value" must also be above this
    note: str = ""                     # e.g. "shape (3, 5), expected (3, 4)"
    notebook: bool = True              # the notebook's own check (False: one of Caption Lab's probes)
    want: str | None = None            # what it must be, where that is not a bound ("(3, 4)", "0")

    @property
    def expected(self) -> str:
        if self.want is not None:
            return self.want
        if self.low is not None:
            return message("{low:g} to {high:g}", low=self.low, high=self.threshold)
        return f"< {self.threshold:.0e}"


@dataclass(frozen=True)
class Heat:
    """Where an array is wrong: the element-wise relative error, one cell per (row, column)."""

    title: str                         # "dx: |yours - numeric| / (|yours| + |numeric|), largest over the batch"
    values: list[list[float]]          # rows x columns, in [0, 1]
    rows: str                          # "timestep t"
    columns: str                       # "input dimension"


@dataclass
class Result:
    """The verdict on one function."""

    name: str                          # "rnn_backward", "CaptioningRNN.loss[lstm]"
    status: str
    checks: list[Check] = field(default_factory=list)
    hint: str | None = None            # the likely cause, one plain sentence
    details: list[str] = field(default_factory=list)   # more sentences: what else was seen
    warnings: list[str] = field(default_factory=list)  # what is right but risky (an input changed in place)
    heat: Heat | None = None
    error: dict | None = None          # type, message, traceback [{file, line, function, code}]
    output: str = ""                   # what it printed (truncated)
    seconds: float = 0.0
    optional: bool = False             # the LSTM: not implemented is a normal state
    table: list[dict] | None = None    # e.g. sampled captions, yours against the reference

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        d = dict(d)
        d["checks"] = [Check(**c) for c in d.get("checks", [])]
        d["heat"] = Heat(**d["heat"]) if d.get("heat") else None
        return cls(**d)


@dataclass
class Report:
    """A whole check of one package."""

    package: str
    origin: str                        # the folder, or the files uploaded
    results: dict[str, Result] = field(default_factory=dict)
    sandbox: dict = field(default_factory=dict)        # what the sandbox applied
    provided: list[str] = field(default_factory=list)  # files Caption Lab supplied
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None           # the check itself could not finish (why)

    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.results.values()) for s in STATUSES}

    def to_dict(self) -> dict:
        """The `--json` shape: {"package", "functions": {NAME: {"status", "checks", "hint", ...}}, ...}."""
        return {"package": self.package, "origin": self.origin,
                "functions": {name: {k: v for k, v in r.to_dict().items() if k != "name"}
                              for name, r in self.results.items()},
                "sandbox": self.sandbox, "provided": self.provided, "notes": self.notes,
                "seconds": round(self.seconds, 3), "error": self.error}

    @classmethod
    def from_dict(cls, d: dict) -> "Report":
        results = {name: Result.from_dict({"name": name, **r}) for name, r in d.get("functions", {}).items()}
        return cls(d["package"], d.get("origin", ""), results, d.get("sandbox", {}), d.get("provided", []),
                   d.get("notes", []), d.get("seconds", 0.0), d.get("error"))


def sandbox_gaps(sandbox: dict) -> list:
    """The sandbox's walls that were not in place for a check, one sentence each (empty when
    every wall of `confine` and `walls` stood)."""
    if not sandbox:
        return [message("The sandbox did not say which walls stood (the code never reached them).")]
    gaps = []
    if not sandbox.get("reads"):
        gaps.append(message("Reading is not confined: the code can read whatever the server's user can read "
                            "(no Landlock on this system)."))
    if not str(sandbox.get("files", "")).startswith("Landlock"):
        gaps.append(message("Writing is refused by a Python audit hook only, which code calling the C library "
                            "gets past."))
    if "pid" not in sandbox.get("namespaces", []):
        gaps.append(message("No process view of its own (no pid namespace): a process the code starts may "
                            "outlive the check."))
    if not sandbox.get("syscalls"):
        gaps.append(message("No system call filter (seccomp): Unix socket files and memfd memory are not "
                            "refused."))
    if not sandbox.get("tmp_mb"):
        gaps.append(message("The temporary folder is not bounded: the code can fill the disk it is on."))
    if not sandbox.get("processes_by"):
        gaps.append(message("The number of processes is not bounded (root is exempt from RLIMIT_NPROC and no "
                            "pids cgroup could be made)."))
    if sandbox.get("user") == "root":
        gaps.append(message("The check runs as root's uid, in a user namespace without capabilities, not as an "
                            "unprivileged user: {why}.", why=sandbox.get("why") or "-"))
    return gaps


def _number(c: Check) -> str:
    if c.value is None:
        return "-"
    return f"{c.value:.4f}" if c.measure == "value" else f"{c.value:.2e}"


def plain_text(report: Report) -> str:
    """The report as a terminal table: one line per function, then what went wrong."""
    lines = [f"Caption Lab checked the package {report.package!r} ({report.origin}) "
             f"in {report.seconds:.1f} s."]
    if report.provided:
        lines.append(f"Supplied by Caption Lab, not yours: {', '.join(report.provided)}.")
    lines += report.notes
    if report.error:
        lines.append(f"The check could not finish: {report.error}")
    lines += [f"Sandbox: {gap}" for gap in sandbox_gaps(report.sandbox)]
    width = max([len(n) for n in report.results] + [8])
    lines.append("")
    lines.append(f"{'function':<{width}}  {'status':<16}  worst error")
    for name, r in report.results.items():
        numbers = [c for c in r.checks if c.value is not None and c.measure != "value"]
        worst = max(numbers, key=lambda c: c.value / c.threshold) if numbers else None
        shown = f"{_number(worst)} ({worst.name}, {worst.expected})" if worst else ""
        status = LABELS[r.status] + (" (optional)" if r.optional and r.status == NOT_IMPLEMENTED else "")
        lines.append(f"{name:<{width}}  {status:<16}  {shown}")
    for name, r in report.results.items():
        if r.status == PASSED and r.warnings:
            lines += ["", f"{name}: {LABELS[r.status]}"] + [f"  Warning: {w}" for w in r.warnings]
        if r.status in (PASSED, MISSING, NOT_IMPLEMENTED):
            continue
        lines.append("")
        lines.append(f"{name}: {LABELS[r.status]}")
        for c in r.checks:
            if not c.passed:
                lines.append(f"  {c.name}: {_number(c)} (must be {c.expected}){'  ' + c.note if c.note else ''}")
        if r.hint:
            lines.append(f"  Likely cause: {r.hint}")
        lines += [f"  {d}" for d in r.details]
        lines += [f"  Warning: {w}" for w in r.warnings]
        if r.error:
            for frame in r.error.get("traceback", []):
                lines.append(f"  {frame['file']}, line {frame['line']}, in {frame['function']}")
                if frame.get("code"):
                    lines.append(f"      {frame['code']}")
            lines.append(f"  {r.error['type']}: {r.error['message']}")
    counts = report.counts()
    lines.append("")
    lines.append(", ".join(f"{n} {LABELS[s]}" for s, n in counts.items() if n))
    return "\n".join(lines)
