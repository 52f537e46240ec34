"""The join window's manual mode: ``vstack on-hold-clients install | remove`` and ``vstack
join-window-status index … {allowed | held}`` (guide, "Configuring the Join Window", "Using
the Join Window in Manual Mode"). The director core changes the clients' join states."""

from __future__ import annotations

from smartinstall.director import ondemand
from smartinstall.director.exec.downloads import MAX_INDEX
from smartinstall.director.exec.host import CONFIRM, Family, confirmed
from smartinstall.domain.devices import Device, JoinState
from smartinstall.domain.values import normalize_mac
from smartinstall.ios import (
    EXEC,
    PRIVILEGED_LEVEL,
    Arg,
    CommandError,
    Context,
    IndexList,
    IPv4,
    MacAddress,
    Number,
)


class OnHoldCommands(Family):
    """``vstack on-hold-clients {install | remove} {all | client-id <n> | ipaddr <ip> | mac
    <mac>}`` and ``vstack join-window-status index <indexes> {allowed | held}``."""

    def declare(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        which = {
            # guide: "The client ID range is 0 to 255"; past it, ipaddr or mac name the client
            "number": Arg(Number(0, 255), "Client index"),
            "address": Arg(IPv4(), "Client IP address"),
            "mac": Arg(MacAddress(), "Client MAC address"),
        }
        hold_help = {
            "on-hold-clients": "Clients on hold (join window in manual mode)",
            "install": "Install image and configuration on on-hold clients",
            "remove": "Remove clients from the on-hold list",
            "all": "All on-hold clients",
            "client-id": "Client with this index",
            "ipaddr": "Client with this IP address",
            "mac": "Client with this MAC address",
            "override": "Override the existing image",
        }
        c(
            EXEC,
            "vstack on-hold-clients install {all | client-id <number> | ipaddr <address> |"
            " mac <mac>} [override]",
            self._hold_install,
            level=p,
            help=hold_help,
            args=which,
        )
        c(
            EXEC,
            "vstack on-hold-clients remove {all | client-id <number> | ipaddr <address> |"
            " mac <mac>}",
            self._hold_remove,
            level=p,
            help=hold_help,
            args=which,
        )
        c(
            EXEC,
            "vstack join-window-status index <indexes> {allowed | held}",
            self._join_window_status,
            level=p,
            help={
                "join-window-status": "Change the join window state of clients",
                "index": "Client indexes",
                "allowed": "Allow the clients (active state)",
                "held": "Put the clients on hold",
            },
            # the guide's client-id list has no upper bound here (unlike `client-id <0-255>`)
            args={"indexes": Arg(IndexList(MAX_INDEX), "Client indexes (for example 1,3-5,7)")},
        )

    def _hold_targets(self, ctx: Context) -> list[Device]:
        db = self.host.state
        if "all" in ctx.keywords:
            return [d for d in db.devices() if not d.is_director and d.join_state is JoinState.HOLD]
        device: Device | None = None
        if ctx.args.get("number") is not None:
            device = db.device_by_number(int(str(ctx.args["number"])))
        elif ctx.args.get("address") is not None:
            device = db.device_by_ip(str(ctx.args["address"]))
        elif ctx.args.get("mac") is not None:
            device = db.device_by_mac(normalize_mac(str(ctx.args["mac"])))
        if device is None or device.is_director:
            raise CommandError("% Client not found in the director database")
        return [device]

    def _hold_install(self, ctx: Context) -> None:
        self.director_only()
        targets = self._hold_targets(ctx)
        if not targets:
            ctx.write("% No client is on hold\n")
            return
        director = self.host.director

        async def work() -> str:
            return await ondemand.install_on_hold(director, targets)

        ctx.wait(work)

    def _hold_remove(self, ctx: Context) -> None:
        self.director_only()
        targets = self._hold_targets(ctx)
        if not targets:
            ctx.write("% No client is on hold\n")
            return
        for device in targets:
            ctx.write(self.host.director.hold_remove(device) + "\n")

    def _join_window_status(self, ctx: Context) -> None:
        self.director_only()
        indexes = ctx.args["indexes"]
        assert isinstance(indexes, list | tuple)
        numbers = [int(n) for n in indexes]
        target = "allowed" if "allowed" in ctx.keywords else "held"
        director = self.host.director

        def answer(reply: str) -> str:
            if not confirmed(reply):
                return ""
            return "".join(line + "\n" for line in director.set_join_states(numbers, target))

        ctx.ask(
            f"Join window state of client(s) {ranges(numbers)} will change to {target}. {CONFIRM}",
            answer,
        )


def ranges(numbers: list[int]) -> str:
    """``1,3-5,7``: client numbers as IOS writes index lists."""
    spans: list[str] = []
    for number in sorted(set(numbers)):
        if spans and "-" not in spans[-1].split(",")[-1] and int(spans[-1]) == number - 1:
            spans[-1] = f"{spans[-1]}-{number}"
        elif spans and "-" in spans[-1] and int(spans[-1].split("-")[1]) == number - 1:
            spans[-1] = f"{spans[-1].split('-')[0]}-{number}"
        else:
            spans.append(str(number))
    return ",".join(spans)
