# An orphan: fork twice, leave the session, and keep running after the check is over.
import ctypes as _ctypes, os as _os, time as _time
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        _ctypes.CDLL(None).prctl(15, b"MARKER", 0, 0, 0)
        for _ in range(600):
            _time.sleep(0.1)
        _os._exit(0)
    _os._exit(0)
_time.sleep(0.2)
