"""E-mail: templates per notification kind, and sending by SMTP or into a folder of .eml files (the default sink).

The outbox (`EmailMessage`) is written in the handler's transaction; `send_pending` sends what is pending, so a
failed SMTP connection leaves the message pending for the next run (at most MAX_ATTEMPTS, then failed).
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from string import Template
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from turash.config import Settings
from turash.kit.db import claim, ready_to_write
from turash.models import EmailMessage, Notification
from turash.models.base import utcnow

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 5
CLAIM_SECONDS = 300  # far longer than one send (10 s SMTP timeout); a dead sender's claim lapses after it

# Subject and body per notification kind ($title, $body, $link, $name are filled in).
TEMPLATES: dict[str, tuple[str, str]] = {
    "proposal": (
        "[Turash] $title",
        "Hello $name,\n\n$body\n\nOpen the proposal: $link\n\n-- \nTurash, industrial symbiosis. You get this e-mail "
        "because you take part in the proposal; change how you are told at $prefs.\n",
    ),
    "facilitation": (
        "[Turash] $title",
        "Hello $name,\n\n$body\n\nThe marketplace: $link\n\n-- \nTurash. Change how you are told at $prefs.\n",
    ),
    "match": (
        "[Turash] $title",
        "Hello $name,\n\n$body\n\nSee the match: $link\n\n-- \nTurash. You get this because a new match passed your "
        "threshold; change it at $prefs.\n",
    ),
    "digest": (
        "[Turash] $title",
        "Hello $name,\n\n$body\n\nAll notifications: $link\n\n-- \nTurash daily digest. Change it at $prefs.\n",
    ),
}
DEFAULT_TEMPLATE = ("[Turash] $title", "Hello $name,\n\n$body\n\n$link\n\n-- \nTurash. Preferences: $prefs\n")


def _link(settings: Settings, note: Notification) -> str:
    data = note.data or {}
    base = settings.public_url.rstrip("/")
    if "proposal_id" in data:
        return f"{base}/#/deals/{data['proposal_id']}"
    if "case_id" in data:
        return f"{base}/#/facilitation/{data['case_id']}"
    if "match_id" in data:
        return f"{base}/#/matches/{data['match_id']}"
    return f"{base}/"


def render(settings: Settings, kind: str, title: str, body: str, name: str, link: str) -> tuple[str, str]:
    subject, text = TEMPLATES.get(kind, DEFAULT_TEMPLATE)
    values = {
        "title": title,
        "body": body,
        "name": name,
        "link": link,
        "prefs": f"{settings.public_url.rstrip('/')}/#/settings",
    }
    return Template(subject).safe_substitute(values), Template(text).safe_substitute(values)


def outbox_for(settings: Settings, note: Notification, to: str, name: str) -> EmailMessage:
    subject, body = render(settings, note.kind, note.title, note.body or "", name, _link(settings, note))
    return EmailMessage(user_id=note.user_id, event_id=note.event_id, to=to, subject=subject, body=body)


def _mime(settings: Settings, message: EmailMessage) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = settings.mail_from
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = make_msgid(idstring=message.id, domain="turash")
    mime.set_content(message.body)
    return mime


def _send_smtp(url: str, mime: MimeMessage) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port
    if parts.scheme == "smtps":
        with smtplib.SMTP_SSL(host, port or 465, context=ssl.create_default_context(), timeout=10) as smtp:
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(mime)
        return
    with smtplib.SMTP(host, port or 587, timeout=10) as smtp:
        if parts.scheme == "smtp" and (port or 587) != 25 and parts.hostname not in ("localhost", "127.0.0.1"):
            smtp.starttls(context=ssl.create_default_context())
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(mime)


def _send_file(folder: Path, message: EmailMessage, mime: MimeMessage) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{message.created_at:%Y%m%dT%H%M%S}-{message.id}.eml"
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(bytes(mime))
    tmp.replace(target)  # a reader never sees half a message


def send_pending(session: Session, settings: Settings, limit: int = 200) -> int:
    """Send pending e-mails (SMTP when configured, else the file sink). Returns how many were sent. Commits what
    the session holds before sending.

    Each message is claimed (`claimed_until`, committed) just before it is sent, so that several replicas
    delivering at once never send one message twice; a claim left by a process that died mid-send lapses after
    `CLAIM_SECONDS` and the message is sent again (at least once, never twice at the same time)."""
    sent = 0
    now = utcnow()
    free = sa.or_(EmailMessage.claimed_until.is_(None), EmailMessage.claimed_until < now)
    rows = session.scalars(
        sa.select(EmailMessage)
        .where(EmailMessage.status == "pending", free)
        .order_by(EmailMessage.created_at)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    session.commit()  # no transaction stays open while a mail server answers; the results are a new, short one
    for message in rows:
        taken = sa.update(EmailMessage).where(EmailMessage.id == message.id, EmailMessage.status == "pending", free)
        if not claim(session, taken.values(claimed_until=utcnow() + timedelta(seconds=CLAIM_SECONDS))):
            continue  # another replica is sending it, or has sent it
        mime = _mime(settings, message)
        error = None
        try:
            if settings.smtp_url:
                _send_smtp(settings.smtp_url, mime)
            else:
                _send_file(settings.mail_dir, message, mime)
        except (OSError, smtplib.SMTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ready_to_write(session)  # the outcome in a short transaction of its own; the claim ends with it
        message.attempts, message.claimed_until = message.attempts + 1, None
        if error is None:
            message.status, message.sent_at = "sent", utcnow()
            sent += 1
        else:
            message.last_error = error
            if message.attempts >= MAX_ATTEMPTS:
                message.status = "failed"
            log.warning("email_failed", id=message.id, attempts=message.attempts, error=error)
        session.commit()  # at once: a crash now cannot make a sent message go out again
    return sent
