"""Outbound email: what resolvers and jobs call to send one (``outbox.queue_email``), and how it goes out.

* ``outbox``: records an ``EmailDelivery`` row (the delivery log) and sends the ``send_email`` job.
* ``render``: the subject, text and HTML of a kind, from ``templates/<kind>.txt`` and ``<kind>.html`` (Jinja2).
* ``compose``: the multipart/alternative message, with Message-ID and, for non-transactional mail,
  List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 one-click).
* ``transport``: SMTP (``SMTP_HOST``), or ``.eml`` files under ``var/mail/`` without it.
* ``delivery``: one attempt of one queued email, its outcome in the log, and when to try again.
* ``unsubscribe``: the signed one-click links and the ``/email/unsubscribe`` page and endpoint.

docs/email.md says how it behaves for operators.
"""
