"""asyncio adapters that own sockets (DHCP, TFTP, SMI, CLI, syslog)."""
