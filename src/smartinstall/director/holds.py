"""The join window's per-client states and the hold list (guide, "Configuring Join Window
Mode", Table 1-3): ``vstack join-window-status index … {allowed | held}``, ``vstack
on-hold-clients install`` (the held client is upgraded at once: the director pushes its image
and configuration over SMI) and ``vstack on-hold-clients remove``.
"""

from __future__ import annotations

from smartinstall.director.facts import CommandRequest
from smartinstall.director.provisioning import Provisioning
from smartinstall.domain.devices import Device, JoinState
from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import on_hold_install, on_hold_remove, set_join_state
from smartinstall.domain.provisioning import Offer, OfferAction


class Holds(Provisioning):
    """The join-window and hold-list part of the director core."""

    def set_join_states(self, numbers: list[int], target: str) -> list[str]:
        lines = []
        for number in numbers:
            device = self.state.device_by_number(number)
            if device is None or device.is_director:
                lines.append(f"% Client {number} not found")
                continue
            try:
                state = set_join_state(device.join_state, target)
            except DomainError as error:
                lines.append(f"{error} (client {number})")
                continue
            # the operator's choice holds across the client's next exchanges
            self.state.set_join_state(device.mac, state, pinned=True)
        return lines

    def _allow_held(self, device: Device) -> tuple[list[str], Offer | None, Device]:
        decision = on_hold_install(device.join_state, self._removed_from_hold(device.mac))
        if not decision.ok:
            return [f"% Request denied for client {device.number}: {decision.reason}"], None, device
        device = self.state.set_join_state(device.mac, decision.state, removed_from_hold=False)
        lines = [f"Client {device.number} ({device.mac}) allowed to install"]
        replacing, replacing_backup = self._replacement_of(device.mac)
        offer = self._decide(device, replacing, replacing_backup, JoinState.ALLOWED)
        if offer.action is not OfferAction.INSTALL:
            lines.append(f"% Client {device.number}: {offer.reasons[-1]}")
            return lines, None, device
        if not device.ip:
            lines.append(
                f"% Client {device.number}: IP address unknown; it upgrades when it asks for "
                "an address again"
            )
            return lines, None, device
        return lines, offer, device

    def hold_install(self, device: Device, override: bool = False) -> str:
        """``vstack on-hold-clients install`` without waiting: the push runs in the
        background (see :meth:`install_held`)."""
        lines, offer, device = self._allow_held(device)
        if offer is not None:
            self._spawn("install", self._push_offer(device, offer))
        return "\n".join(lines)

    async def install_held(self, device: Device, override: bool = False) -> list[str]:
        """``vstack on-hold-clients install``: the held client is upgraded at once — the director
        pushes its image and configuration over SMI (types 2 and 3) instead of waiting for
        its next DHCP exchange. Returns one line per step for the operator."""
        lines, offer, device = self._allow_held(device)
        if offer is not None:
            lines.extend(await self._push_offer(device, offer))
        return lines

    async def _push_offer(self, device: Device, offer: Offer) -> list[str]:
        port = self._client_port(device.mac)
        requests = []
        if offer.config_file:
            url = self._tftp_url_of(offer.config_file)
            requests.append(
                CommandRequest(
                    device.ip, port, "download-config", url=url, reload_now=not offer.imagelist_file
                )
            )
        if offer.imagelist_file:
            url = self._tftp_url_of(offer.imagelist_file)
            requests.append(
                CommandRequest(device.ip, port, "download-image", url=url, reload_now=True)
            )
        lines = []
        for request in requests:
            what = "image" if request.kind == "download-image" else "config"
            if await self._send_quietly(request):
                lines.append(f"{device.ip}: {what} download requested")
            else:
                lines.append(f"% {device.ip}: unreachable, {what} not sent")
        return lines

    def hold_remove(self, device: Device) -> str:
        decision = on_hold_remove(device.join_state, self._removed_from_hold(device.mac))
        if not decision.ok:
            return f"% Client {device.number}: {decision.reason}"
        self.state.set_join_state(device.mac, decision.state, removed_from_hold=True, pinned=False)
        return f"Client {device.number} ({device.mac}) removed from the hold list"
