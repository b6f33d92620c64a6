"""Sentences `core` writes for a person to read, in a form the app can translate.

`message("{name} is {value:.2e}", name=..., value=...)` is the English sentence itself (a
`str`: printing, comparing and `in` work as before), and it keeps its template and its
values, so that the app (`explorer.i18n._`) can look the template up in the reader's
language and fill it in there. `core` never imports the app; outside it the sentence
is simply English. Exceptions raised for programmers stay plain English strings.
"""
from __future__ import annotations

import math
import re
import string


class Message(str):
    """An English sentence that remembers `template` and `values` (see the module)."""

    template: str
    values: dict

    def __new__(cls, template: str, **values):
        text = super().__new__(cls, template.format(**values) if values else template)
        text.template = template
        text.values = values
        return text

    def __reduce__(self):                # pickles (a subprocess's report) keep the template
        return _rebuild, (self.template, self.values)


def _rebuild(template: str, values: dict) -> Message:
    return Message(template, **values)


def message(template: str, **values) -> Message:
    """The sentence `template.format(**values)`, translatable by the app (see the module)."""
    return Message(template, **values)


def plain_template(template) -> bool:
    """A template the app may fill in: named fields only, no attribute or index lookups, and
    no width or precision over three digits. A run's folder is written by its worker, where a
    student's code runs too: a template from outside the process must not be able to reach into
    objects or ask for a gigabyte-wide field. Check a template read back from a file
    or another process with this before building a `Message` from it."""
    if not isinstance(template, str) or len(template) > 4000:
        return False
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:
        return False
    return all(name.isidentifier() and not re.search(r"\d{4}", spec or "") and "{" not in (spec or "")
               for name, spec in fields)


# --- a Message as JSON ------------------------------------------------------------------
# The one codec for a sentence that leaves the process: a run's status file, and the
# checker of a student's code talking to the app. Reading one back checks its template
# (`plain_template`), since the writer may be a process where a student's code runs.

def encode_message(text) -> dict | None:
    """A `Message` as {"template", "values"} (a value that is a Message nests as one; a numpy
    scalar becomes its number), or None for a plain str or a value that is not a JSON
    number or string."""
    if not isinstance(text, Message):
        return None
    values = {}
    for name, value in text.values.items():
        if isinstance(value, Message):
            values[name] = encode_message(value)
            if values[name] is None:
                return None
            continue
        if hasattr(value, "item") and getattr(value, "ndim", None) == 0:       # a numpy scalar
            value = value.item()
        if isinstance(value, float):
            if not math.isfinite(value):
                return None
        elif not isinstance(value, (str, int)) or isinstance(value, bool):
            return None
        values[name] = value
    return {"template": text.template, "values": values}


def decode_message(encoded) -> Message | None:
    """The `Message` `encode_message` wrote, or None when `encoded` is not one (or its
    template is not plain: see `plain_template`)."""
    try:
        if not plain_template(encoded["template"]):
            return None
        values = {name: decode_message(value) if isinstance(value, dict) else value
                  for name, value in encoded["values"].items()}
        if any(value is None for value in values.values()):
            return None
        return Message(encoded["template"], **values)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
