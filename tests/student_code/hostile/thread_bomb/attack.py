# A thread bomb: start sleeping threads until the system says no.
import threading as _threading, time as _time
_count = 0
for _ in range(100_000):
    try:
        _threading.Thread(target=_time.sleep, args=(3600,), daemon=True).start()
    except Exception as e:
        print("thread refused after", _count, "threads:", type(e).__name__, e)
        break
    _count += 1
