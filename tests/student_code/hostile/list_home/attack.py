# List the server user's home folder (and the root of the file system, and /tmp).
import os as _os
for _folder in ("HOME_DIR", "/", "/tmp", "/root", "/home"):
    try:
        print(_folder, sorted(_os.listdir(_folder)))
    except Exception as e:
        print(_folder, "refused:", type(e).__name__)
