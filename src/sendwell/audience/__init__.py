"""Audience: subscribers, lists, subscriptions and suppressions."""
