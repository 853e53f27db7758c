"""The edge: input channels hardened for public traffic, all entering a turn through base.py."""
