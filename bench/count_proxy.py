#!/usr/bin/env python3
"""A TCP proxy on loopback that counts the bytes clients send through it.

  count_proxy.py TARGET_PORT PORT_FILE COUNT_FILE

Listens on a free loopback port (written to PORT_FILE once listening) and
forwards every connection to 127.0.0.1:TARGET_PORT. COUNT_FILE holds
"<bytes sent by clients> <connections open>", rewritten whenever a
connection opens or closes: a step's bytes are the difference of the first
number before and after it, read once the second is 0. What is counted is
everything a client writes (HTTP request lines, headers and bodies), so that
converge and git are measured alike (bench/ab.sh).
"""
import asyncio
import os
import sys

TOTAL = 0
OPEN = 0


def write_count(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("%d %d\n" % (TOTAL, OPEN))
    os.replace(tmp, path)


async def pipe(reader, writer, counted):
    global TOTAL
    try:
        while True:
            data = await reader.read(1 << 20)
            if not data:
                break
            if counted:
                TOTAL += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main(target, port_file, count_file):
    async def handle(client_reader, client_writer):
        global OPEN
        OPEN += 1
        write_count(count_file)
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
            await asyncio.gather(pipe(client_reader, server_writer, True),
                                 pipe(server_reader, client_writer, False))
        except ConnectionError:
            client_writer.close()
        finally:
            OPEN -= 1
            write_count(count_file)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    write_count(count_file)
    with open(port_file + ".tmp", "w") as fh:
        fh.write("%d\n" % server.sockets[0].getsockname()[1])
    os.replace(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
