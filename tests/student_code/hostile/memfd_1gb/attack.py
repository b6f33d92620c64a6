# 1 GB of memory in a memfd, which RLIMIT_AS does not count.
import os as _os
try:
    _fd = _os.memfd_create("hog")
    for _ in range(256):
        _os.write(_fd, b"\1" * (4 << 20))
    print("1 GB in a memfd")
except Exception as e:
    print("memfd refused:", type(e).__name__, e)
