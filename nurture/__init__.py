"""Nurture: marketing automation with a Slack front door (composition root)."""

__version__ = "0.1.0"
