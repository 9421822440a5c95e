"""Campaigns: lifecycle, outbox materialization and the per-recipient message builder."""
