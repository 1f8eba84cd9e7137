"""Email through SMTP (ssl, starttls or none, like the seeds' 163-mail example) or SES.

Settings choose (HAT_EMAIL_BACKEND); only hosts and credentials differ between a
deployment and the local stack, whose SMTP server is a real one (aiosmtpd).
"""
from __future__ import annotations

import smtplib
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from chalicelib.core.settings import Settings, get_settings
from chalicelib.notify.sms import NotConfigured

DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}

SmtpFactory = Callable[[Settings], smtplib.SMTP]


def smtp_connection(settings: Settings) -> smtplib.SMTP:
    """A connected, authenticated SMTP session as the settings say."""
    import ssl

    security = settings.smtp_security
    if security not in DEFAULT_PORTS:
        raise NotConfigured(f"HAT_SMTP_SECURITY must be ssl, starttls or none, not {security!r}")
    if not settings.smtp_host:
        raise NotConfigured("SMTP email needs HAT_SMTP_HOST")
    port = settings.smtp_port or DEFAULT_PORTS[security]
    timeout = settings.send_timeout_seconds
    if security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, port, timeout=timeout,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.smtp_host, port, timeout=timeout)
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if settings.smtp_username:
        smtp.login(settings.smtp_username, settings.smtp_password)
    return smtp


def build_message(to: str, subject: str, body: str, sender: str, html: str | None = None,
                  headers: Mapping[str, str] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def send_email(to: str, subject: str, body: str, *, html: str | None = None,
               headers: Mapping[str, str] | None = None, smtp_factory: SmtpFactory | None = None,
               ses_client: Any = None,
               settings: Settings | None = None) -> dict:
    """Send one email, plain text and (given `html`) an HTML alternative, with extra
    `headers` (List-Unsubscribe); returns {"provider", "provider_id", "status": "sent"}."""
    settings = settings or get_settings()
    sender = settings.email_from or settings.smtp_username
    if not sender:
        raise NotConfigured("email needs HAT_EMAIL_FROM")
    if settings.email_backend == "ses":
        if ses_client is None:
            from chalicelib.core.aws import get_client

            ses_client = get_client("ses")
        if headers:  # SES's SendEmail takes no headers: the whole MIME message, as SMTP sends it
            raw = build_message(to, subject, body, sender, html, headers)
            answer = ses_client.send_raw_email(Source=sender, Destinations=[to],
                                               RawMessage={"Data": raw.as_bytes()})
            return {"provider": "ses", "provider_id": answer["MessageId"], "status": "sent"}
        content = {"Text": {"Data": body, "Charset": "UTF-8"}}
        if html:
            content["Html"] = {"Data": html, "Charset": "UTF-8"}
        answer = ses_client.send_email(
            Source=sender, Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": content})
        return {"provider": "ses", "provider_id": answer["MessageId"], "status": "sent"}
    if settings.email_backend != "smtp":
        raise NotConfigured(f"HAT_EMAIL_BACKEND must be smtp or ses, not {settings.email_backend!r}")
    message = build_message(to, subject, body, sender, html, headers)
    smtp = (smtp_factory or smtp_connection)(settings)
    try:
        smtp.send_message(message)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    return {"provider": "smtp", "provider_id": message["Message-ID"], "status": "sent"}
