"""Sentences `core` writes for a person to read, in a form the app can translate.

`message("{name} is {value:.2e}", name=..., value=...)` is the English sentence itself (a
`str`: printing, comparing and `in` work as before), and it keeps its template and its
values, so that the app (`explorer.i18n._`) can look the template up in the reader's
language and fill it in there. `core` never imports the app; outside it the sentence
is simply English. Exceptions raised for programmers stay plain English strings.
"""
from __future__ import annotations


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
