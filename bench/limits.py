#!/usr/bin/env python3
"""This machine's limits, measured the same way every run (bench/run.sh).

  limits.py WORKDIR   prints "name value unit" lines:
    disk_write   MB/s  1 GiB written sequentially, then fdatasync
    disk_read    MB/s  the same file read back with O_DIRECT (not from the page cache)
    hash_core    MB/s  BLAKE2b-256 on one core of 256 MiB in memory
    cores        n     cores available to hash on
    loopback     MB/s  1 GiB through one TCP connection on 127.0.0.1
"""
import hashlib
import os
import socket
import sys
import threading
import time

MIB = 1 << 20


def disk(work):
    path = os.path.join(work, "limits.dat")
    block = os.urandom(MIB)
    t = time.time()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for _ in range(1024):
        os.write(fd, block)
    os.fdatasync(fd)
    os.close(fd)
    write = 1024 * MIB / (time.time() - t) / 1e6
    read = 0.0
    try:
        import mmap
        buf = mmap.mmap(-1, 4 * MIB)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        t = time.time()
        n = 0
        while True:
            got = os.readv(fd, [buf])
            if got <= 0:
                break
            n += got
        os.close(fd)
        read = n / (time.time() - t) / 1e6
    except OSError:
        pass
    return path, write, read


def hash_rate():
    # CPython's BLAKE2b (SIMD where the CPU has it), as converge's libsodium.
    data = os.urandom(64 * MIB)
    t = time.time()
    for _ in range(4):
        h = hashlib.blake2b(digest_size=32)
        for off in range(0, len(data), MIB):
            h.update(memoryview(data)[off:off + MIB])
    return 4 * len(data) / (time.time() - t) / 1e6


def loopback():
    total = 1024 * MIB
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = [0]

    def sink():
        c, _ = srv.accept()
        buf = bytearray(4 * MIB)
        while True:
            n = c.recv_into(buf)
            if not n:
                break
            got[0] += n
        c.close()

    th = threading.Thread(target=sink)
    th.start()
    cli = socket.create_connection(srv.getsockname())
    block = b"\0" * (4 * MIB)
    t = time.time()
    for _ in range(total // len(block)):
        cli.sendall(block)
    cli.close()
    th.join()
    return got[0] / (time.time() - t) / 1e6


def main():
    work = sys.argv[1]
    path, write, read = disk(work)
    print("disk_write %.0f MB/s" % write)
    print("disk_read %.0f MB/s" % read)
    print("hash_core %.0f MB/s" % hash_rate())
    print("cores %d n" % os.cpu_count())
    os.unlink(path)
    print("loopback %.0f MB/s" % loopback())


if __name__ == "__main__":
    main()
