"""The delivery engine: from a leased outbox row to an SMTP reply.

This package holds the engine's network edge and the arithmetic around it:

- ``smtp``  — a lean asyncio SMTP client (pipelining, one recipient per transaction,
  connection reuse) that turns every socket and reply failure into
  :class:`~sendwell.errors.TemporaryFailure` or :class:`~sendwell.errors.PermanentFailure`;
- ``mx``    — MX resolution with a TTL cache and shared in-flight lookups;
- ``retry`` — pure retry scheduling (exponential backoff, server hints, max age).

Modules are imported explicitly (``from sendwell.delivery.smtp import SmtpConnection``);
this file deliberately imports nothing so that importing one piece does not pull in the
others.
"""
