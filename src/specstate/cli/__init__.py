"""The ``specstate`` command line: one module per command (``configure``, ``run``)."""
