# freeport.sh: tm_free_port prints a TCP port of 127.0.0.1 that is free now
# (the kernel picks it for a socket bound to port 0, which is then closed;
# a server started later may still lose it to someone else: retry).
tm_free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}
