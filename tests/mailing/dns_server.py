"""A small authoritative DNS server on 127.0.0.1 for the tests (dnspython's wire format):
it answers from a dict of records, so that code asking real DNS questions (the sender-domain
check) is tested without the internet."""

import contextlib
import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DNSServer:
    """`records` maps (name, type) to a list of texts in zone-file form: ("ecole.org", "TXT")
    → ['"v=spf1 include:_spf.google.com ~all"'], ("mx.ecole.org", "A") → ["192.0.2.10"].
    A name with no record at all answers NXDOMAIN."""

    def __init__(self, records: dict[tuple[str, str], list[str]]):
        self.records = {(name.lower().rstrip("."), kind): texts
                        for (name, kind), texts in records.items()}
        self.queries: list[tuple[str, str]] = []
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                data, client = self.socket.recvfrom(4096)
            except OSError:
                return
            with contextlib.suppress(Exception):
                self.socket.sendto(self._answer(data), client)

    def _answer(self, data: bytes) -> bytes:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        kind = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, kind))
        texts = self.records.get((name, kind))
        if texts:
            response.answer.append(dns.rrset.from_text(question.name, 300, "IN", kind, *texts))
        elif not any(known == name for known, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()

    def close(self) -> None:
        self.socket.close()
