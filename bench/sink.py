"""A minimal asyncio SMTP sink for the sending benchmark (not for anything else).

It speaks just enough ESMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), and
offers PIPELINING (RFC 2920) as Postfix, Exchange and Gmail do (--no-pipelining to withhold it),
keeps nothing but counts, and can wait a fixed time before answering each DATA, like a
real server that takes a few milliseconds to queue a message. It runs in a process of its
own so that it never competes with the client for a GIL.

    python bench/sink.py [--host 127.0.0.1] [--port 0] [--delay-ms 0] [--no-pipelining]

prints "READY <port>" on stdout, then obeys one command per line on stdin, answering one line:

    STATS        -> {"messages": .., "recipients": .., "distinct_recipients": ..,
                     "bytes": .., "first": <time.time()>, "last": .., "connections": ..}
    RESET        -> OK (counters to zero)
    DELAY <ms>   -> OK (new per-message delay)
    QUIT / EOF   -> exits
"""

import argparse
import asyncio
import json
import sys
import time

END = b"\r\n.\r\n"


class Stats:
    def __init__(self):
        self.delay = 0.0
        self.pipelining = True
        self.reset()

    def reset(self):
        self.messages = 0
        self.recipients = 0
        self.addresses: set[bytes] = set()
        self.bytes = 0
        self.first = None
        self.last = None
        self.connections = 0

    def as_dict(self):
        return {"messages": self.messages, "recipients": self.recipients,
                "distinct_recipients": len(self.addresses), "bytes": self.bytes,
                "first": self.first, "last": self.last, "connections": self.connections}


class SinkProtocol(asyncio.Protocol):
    def __init__(self, stats: Stats):
        self.stats = stats
        self.buffer = bytearray()
        self.in_data = False
        self.blocked = False  # waiting to answer a DATA (delay): later input waits too
        self.rcpts: list[bytes] = []
        self.scan_from = 0

    def connection_made(self, transport):
        self.transport = transport
        self.stats.connections += 1
        transport.write(b"220 bench-sink ESMTP ready\r\n")

    def data_received(self, data):
        self.buffer += data
        if not self.blocked:
            self.process()

    def process(self):
        buffer = self.buffer
        while buffer and not self.blocked:
            if self.in_data:
                if buffer.startswith(b".\r\n") and self.scan_from == 0:
                    end, size = 0, 0  # an empty message
                    consumed = 3
                else:
                    end = buffer.find(END, max(0, self.scan_from - 4))
                    if end < 0:
                        self.scan_from = len(buffer)
                        return
                    size = end + 2
                    consumed = end + len(END)
                del buffer[:consumed]
                self.in_data = False
                self.scan_from = 0
                self.message_done(size)
                continue
            newline = buffer.find(b"\r\n")
            if newline < 0:
                return
            line = bytes(buffer[:newline])
            del buffer[:newline + 2]
            self.command(line)

    def message_done(self, size):
        stats = self.stats
        now = time.time()
        stats.messages += 1
        stats.recipients += len(self.rcpts)
        stats.addresses.update(self.rcpts)
        stats.bytes += size
        if stats.first is None:
            stats.first = now
        stats.last = now
        self.rcpts = []
        reply = b"250 2.0.0 Ok: queued as %d\r\n" % stats.messages
        if stats.delay:
            self.blocked = True
            asyncio.get_running_loop().call_later(stats.delay, self.answer_later, reply)
        else:
            self.transport.write(reply)

    def answer_later(self, reply):
        if self.transport.is_closing():
            return
        self.transport.write(reply)
        self.blocked = False
        self.process()

    def command(self, line: bytes):
        verb = line[:4].upper()
        write = self.transport.write
        if verb == b"EHLO":
            write(b"250-bench-sink\r\n" + (b"250-PIPELINING\r\n" if self.stats.pipelining else b"")
                  + b"250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 104857600\r\n")
        elif verb == b"HELO":
            write(b"250 bench-sink\r\n")
        elif verb == b"MAIL":
            self.rcpts = []
            write(b"250 2.1.0 Ok\r\n")
        elif verb == b"RCPT":
            start, end = line.find(b"<"), line.find(b">")
            self.rcpts.append(line[start + 1:end].lower() if 0 <= start < end else line[8:])
            write(b"250 2.1.5 Ok\r\n")
        elif verb == b"DATA":
            if not self.rcpts:
                write(b"554 5.5.1 No valid recipients\r\n")
                return
            self.in_data = True
            self.scan_from = 0
            write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif verb == b"RSET":
            self.rcpts = []
            write(b"250 2.0.0 Ok\r\n")
        elif verb == b"NOOP":
            write(b"250 2.0.0 Ok\r\n")
        elif verb == b"QUIT":
            write(b"221 2.0.0 Bye\r\n")
            self.transport.close()
        else:
            write(b"502 5.5.2 Command not implemented\r\n")


async def control(stats: Stats):
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        command = line.strip().split()
        if not command or command[0] == "QUIT":
            return
        if command[0] == "STATS":
            answer = json.dumps(stats.as_dict())
        elif command[0] == "RESET":
            stats.reset()
            answer = "OK"
        elif command[0] == "DELAY":
            stats.delay = float(command[1]) / 1000
            answer = "OK"
        else:
            answer = "ERR unknown command"
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()


async def main(host: str, port: int, delay_ms: float, pipelining: bool = True):
    stats = Stats()
    stats.delay = delay_ms / 1000
    stats.pipelining = pipelining
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(stats), host, port, backlog=128)
    sys.stdout.write(f"READY {server.sockets[0].getsockname()[1]}\n")
    sys.stdout.flush()
    async with server:
        await control(stats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--no-pipelining", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port, args.delay_ms, not args.no_pipelining))
