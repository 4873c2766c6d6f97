"""The Slack Web API double lives in the package (the demo uses it too); tests import it from here."""

from nurture.slack_double import PEOPLE, SlackApiDouble, SlackCall, modal_values

__all__ = ["PEOPLE", "SlackApiDouble", "SlackCall", "modal_values"]
