"""The ``specstate`` command line: one module per command, each with ``configure``/``run``/``main``."""
