"""Allow `python -m herald`."""

from herald.cli import main

main()
