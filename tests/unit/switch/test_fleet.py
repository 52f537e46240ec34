"""A fleet's numbering (one fleet split over processes) and its switches' TFTP byte count."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from smartinstall.services import tftp_client
from smartinstall.switch.fleet import Fleet, FleetSpec
from smartinstall.switch.netio import NetConfig, NetIo

pytestmark = pytest.mark.timeout(20)


def spec(tmp_path: Path, count: int, **more: int) -> FleetSpec:
    return FleetSpec(
        count=count,
        pid="WS-C2960X-48FPS-L",
        first_address="127.21.1.1",
        flash_root=tmp_path,
        net=NetConfig(("127.21.0.1", 67), 68),
        **more,
    )


def test_a_whole_fleet_is_numbered_from_zero(tmp_path: Path) -> None:
    fleet = Fleet(spec(tmp_path, 3))
    assert [s.config.address for s in fleet.switches] == ["127.21.1.1", "127.21.1.2", "127.21.1.3"]
    assert [s.config.mac for s in fleet.switches] == [
        "0050.5700.0001",
        "0050.5700.0002",
        "0050.5700.0003",
    ]


def test_parts_of_a_fleet_take_every_stride_th_switch(tmp_path: Path) -> None:
    parts = [Fleet(spec(tmp_path / str(i), 4, first_index=i, stride=3)) for i in range(3)]
    whole = Fleet(spec(tmp_path / "whole", 12))
    by_part = sorted((s.config.address, s.config.mac) for p in parts for s in p.switches)
    assert by_part == sorted((s.config.address, s.config.mac) for s in whole.switches)
    assert [s.config.address for s in parts[1].switches] == [
        "127.21.1.2",
        "127.21.1.5",
        "127.21.1.8",
        "127.21.1.11",
    ]
    assert parts[2].switches[0].config.mac == "0050.5700.0003"


@pytest.mark.parametrize("bad", [{"first_index": -1}, {"stride": 0}])
def test_bad_numbering_is_refused(tmp_path: Path, bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Fleet(spec(tmp_path, 2, **bad))


async def test_tftp_bytes_count_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def fetch_to(
        host: str, port: int, name: str, out: BinaryIO, options: tftp_client.ClientOptions
    ) -> int:
        out.write(b"x" * 70000)
        out.write(b"y" * 30)
        return 70030

    monkeypatch.setattr(tftp_client, "fetch_to", fetch_to)
    fleet = Fleet(spec(tmp_path, 2))
    got: list[bytes] = []
    switch = fleet.switches[0]
    assert isinstance(switch.io, NetIo)
    assert await switch.io.fetch(switch, "127.21.0.1", 69, "image.tar", got.append) == 70030
    assert await switch.io.fetch(switch, "127.21.0.1", 69, "cfg.txt", got.append) == 70030
    assert b"".join(got) == (b"x" * 70000 + b"y" * 30) * 2
    assert fleet.tftp_bytes() == 140060
    assert fleet.bytes_downloaded() == 0  # only the switch's image download counts there
