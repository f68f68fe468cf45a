"""Subcommands of the ``melgen`` command line, one module each (see ``cli``)."""
