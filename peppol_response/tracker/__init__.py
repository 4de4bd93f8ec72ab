"""The status tracker: every invoice's status and history, matched responses, events and webhooks."""
