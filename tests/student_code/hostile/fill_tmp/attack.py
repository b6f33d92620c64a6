# Fill the temporary folder (and /tmp itself) until the disk is full.
import os as _os, tempfile as _tempfile
for _folder in (_tempfile.gettempdir(), "/tmp", "/dev/shm"):
    _written = 0
    try:
        for _i in range(1000):
            with open(_os.path.join(_folder, f"filler-{_i}"), "wb") as _f:
                for _ in range(16):
                    _f.write(b"\0" * (4 << 20))
                    _written += 4 << 20
    except Exception as e:
        print(_folder, "full after", _written >> 20, "MB:", type(e).__name__)
