"""Pure rules of the messenger's handbook: no I/O, plain data in, decisions out."""
