# Loaded by IPython kernels that the notebook tests start (IPYTHONDIR points here): any attempt
# to reach the network raises, and is written to $F2P_NETWORK_LOG so the test fails even if the
# notebook catches the error. Local sockets (loopback, Unix) stay allowed.
import os as _os
import socket as _socket


def _f2p_install_network_guard():
    log = _os.environ.get("F2P_NETWORK_LOG")
    local_names = {"localhost", "127.0.0.1", "::1", ""}

    def is_local(address):
        if not isinstance(address, tuple):
            return True  # Unix socket path
        host = str(address[0])
        return host in local_names or host.startswith("127.")

    def refuse(what):
        if log:
            with open(log, "a") as f:
                f.write(what + "\n")
        raise ConnectionRefusedError(f"network access is blocked in the fast profile: {what}")

    real_connect = _socket.socket.connect
    real_connect_ex = _socket.socket.connect_ex
    real_getaddrinfo = _socket.getaddrinfo

    def connect(self, address):
        if not is_local(address):
            refuse(f"connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not is_local(address):
            refuse(f"connect to {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not is_local((host if isinstance(host, str) else host.decode(), 0)):
            refuse(f"name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    _socket.socket.connect = connect
    _socket.socket.connect_ex = connect_ex
    _socket.getaddrinfo = getaddrinfo


_f2p_install_network_guard()
del _f2p_install_network_guard
