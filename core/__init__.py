"""Caption Lab's numpy core: the CS231n captioning API, importable as `from core import NAME`."""
