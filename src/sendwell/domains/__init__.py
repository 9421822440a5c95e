"""Sending domains: DKIM keys, the DNS records to publish, and checking what is published."""
