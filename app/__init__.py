"""Switchboard: an omnichannel contact-center service."""

__version__ = "0.1.0"
