"""Adapters to the outside world, one small Protocol per capability."""
