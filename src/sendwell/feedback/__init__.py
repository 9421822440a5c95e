"""The feedback loop: bounces, complaints and unsubscribe replies turned into suppressions.

Sources (inbound SMTP, IMAP polling, provider webhooks) all produce the same
:class:`~sendwell.feedback.records.FeedbackReport`; :mod:`sendwell.feedback.apply` turns a
report into store actions under one policy. Parsing and classification are pure.
"""
