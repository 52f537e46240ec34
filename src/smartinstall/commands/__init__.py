"""Sub-commands of the `smartinstall` program, one module each.

Each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
``smartinstall.cli`` lists the modules in ``COMMAND_MODULES``.
"""
