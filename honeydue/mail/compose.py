"""The MIME message of one email: multipart/alternative (text, then HTML) with the headers mail needs."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from honeydue.mail.render import RenderedEmail

# RFC 8058: a mail client may POST this body to the https List-Unsubscribe link to unsubscribe in one click.
ONE_CLICK = "List-Unsubscribe=One-Click"


def new_message_id(sender: str) -> str:
    """A fresh ``<...@domain>`` Message-ID on the sender's domain (not this host's name: pods have odd ones)."""
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    return make_msgid(domain=domain if at and domain else "honeydue.local")


def compose(
    rendered: RenderedEmail,
    *,
    sender: str,
    to: str,
    message_id: str,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """The message to send; ``unsubscribe_url`` (non-transactional mail only) adds the RFC 8058 headers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    # RFC 3834: tells mail servers not to send vacation auto-replies to a robot.
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url is not None:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
