"""Rasa input channels hardened for public traffic (REST here; socket.io and Slack build on guard.py)."""
