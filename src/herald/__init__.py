"""Herald: the messenger's workspace for customer communication during incidents."""

__version__ = "0.1.0"
