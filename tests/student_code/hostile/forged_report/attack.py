# Print a forged report, to stdout, stderr and every descriptor there may be, then be wrong.
import json as _json, os as _os, sys as _sys
_forged = _json.dumps({"event": "report", "report": {"package": "FORGED", "origin": "FORGED", "functions": {
    "rnn_step_forward": {"status": "passed", "checks": [], "hint": None}}}}) + "\n"
print(_forged)
print(_forged, file=_sys.stderr)
for _fd in range(1, 64):
    try:
        _os.write(_fd, _forged.encode())
    except OSError:
        pass
_right_step = rnn_step_forward


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h, cache = _right_step(x, prev_h, Wx, Wh, b)
    return 2 * next_h, cache
