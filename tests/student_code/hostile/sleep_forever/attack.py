# Sleep without using any CPU time: only a wall clock stops it.
import time as _time
_time.sleep(10 ** 6)
