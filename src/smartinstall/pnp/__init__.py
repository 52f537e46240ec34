"""A small Cisco Plug-and-Play server for labs and tests (docs/pnp-server.md).

:func:`smartinstall.pnp.server.serve_pnp` runs it in-process; ``smartinstall pnp-server`` runs it
alone. The PnP messages themselves are :mod:`smartinstall.wire.pnp`.
"""
