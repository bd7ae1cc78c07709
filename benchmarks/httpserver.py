"""A minimal keep-alive HTTP/1.1 server for the transport benchmark (loopback only).

Every request is answered after ``--latency`` seconds with a small JSON body. It runs in
its own process so its CPU does not count against the client being measured.
Usage: python -m benchmarks.httpserver --latency 0.05 --ready-file PATH
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

BODY = b'{"code":200,"data":{"task_id":"t-1","status":"running","progress":50}}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(delay: float, ready: Path) -> None:
    server = await asyncio.start_server(
        lambda r, w: _handle(r, w, delay), "127.0.0.1", 0, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    ready.write_text(f"http://127.0.0.1:{port}")
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.latency, args.ready_file))


if __name__ == "__main__":
    main()
