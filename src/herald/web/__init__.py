"""The web workspace: pages, JSON API and operations endpoints."""
