"""E-mail through SMTP: a local SMTP server (speaking the protocol over a real socket) receives the message; a
refused connection leaves it pending for the next run."""

from __future__ import annotations

import socket
import socketserver
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.config import Settings
from turash.kit.db import make_engine
from turash.models import Base, EmailMessage
from turash.notifications import mail


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        store: list[dict[str, Any]] = self.server.received  # type: ignore[attr-defined]
        self.wfile.write(b"220 test ESMTP\r\n")
        envelope: dict[str, Any] = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == "MAIL":
                envelope["from"] = command
                self.wfile.write(b"250 ok\r\n")
            elif verb == "RCPT":
                envelope["rcpt"].append(command)
                self.wfile.write(b"250 ok\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                envelope["data"] = data.decode()
                store.append(envelope)
                envelope = {"rcpt": []}
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def _outbox(tmp_path: Path) -> Session:
    engine = make_engine(f"sqlite:///{tmp_path / 'mail.db'}")
    Base.metadata.create_all(engine)
    session = Session(engine)
    session.add(EmailMessage(id="m1", to="bob@example.org", subject="[Turash] Proposal sent", body="Hello Bob"))
    session.flush()
    return session


def test_sent_by_smtp(tmp_path: Path) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        settings = Settings(smtp_url=f"smtp://127.0.0.1:{port}", mail_from="Turash <noreply@turash.test>")
        session = _outbox(tmp_path)
        assert mail.send_pending(session, settings) == 1
        [got] = server.received  # type: ignore[attr-defined]
        assert "bob@example.org" in got["rcpt"][0] and "Subject: [Turash] Proposal sent" in got["data"]
        message = session.scalar(sa.select(EmailMessage))
        assert message is not None and message.status == "sent" and message.attempts == 1
    finally:
        server.shutdown()


def test_an_unreachable_smtp_server_keeps_the_message_pending(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(smtp_url=f"smtp://127.0.0.1:{port}")
    session = _outbox(tmp_path)
    assert mail.send_pending(session, settings) == 0
    message = session.scalar(sa.select(EmailMessage))
    assert message is not None and message.status == "pending" and "ConnectionRefused" in (message.last_error or "")
    for _ in range(mail.MAX_ATTEMPTS - 1):
        mail.send_pending(session, settings)
    assert message.status == "failed"
