"""The one error type for bad datasets and bad data requests."""
from __future__ import annotations


class DatasetError(ValueError):
    """A dataset file or request that cannot be used.

    The message names the file (or argument) and says what to do about it; it is
    meant to be shown to a user as it is, without a traceback.
    """
