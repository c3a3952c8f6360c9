"""Notifications beyond the in-app list: per-user preferences, e-mail (SMTP or a file sink) with templates and
daily digests, WebSocket live updates, and outgoing webhooks signed with HMAC-SHA256 with retries and backoff, all
fed by the domain events through idempotent handlers."""
