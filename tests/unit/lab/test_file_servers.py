"""A lab topology's third-party TFTP servers (``lab: file_servers``, ``lab: tftp_port``): what
a topology may say, and the one-line error for what it may not (guide: "Third-Party, Non-Cisco
IOS Device as the TFTP Server"; options 67 and 150 carry no port, so every server of a lab
listens on its one TFTP port)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from smartinstall.lab.file_servers import FileServerSpec, LabFileServer, image_bytes
from smartinstall.lab.topology import LabTopology, TopologyError, parse_topology


def topology(tmp_path: Path, **lab: Any) -> LabTopology:
    (tmp_path / "startup-config").write_text("vstack director 127.9.0.1\nvstack basic\n")
    data = {
        "director": {"address": "127.9.0.1", "config": "startup-config"},
        "switches": [
            {
                "name": "sw",
                "pid": "WS-C2960X-48FPS-L",
                "mac": "0050.5600.0001",
                "address": "127.9.1.1",
            }
        ],
        "lab": lab,
    }
    return parse_topology(yaml.safe_dump(data), base=tmp_path)


def test_file_servers_with_their_port(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "seed.txt").write_text("hostname seed\n")
    topo = topology(
        tmp_path,
        tftp_port=6969,
        file_servers=[{"address": "127.9.0.5", "directory": "files",
                       "images": {"c2960x.tar": "1KiB"}, "files": {"a/b.txt": "x"}}],
    )  # fmt: skip
    assert topo.tftp_port == 6969
    (server,) = topo.file_servers
    assert server == FileServerSpec(
        "127.9.0.5", (("c2960x.tar", 1024),), (("a/b.txt", "x"),), tmp_path / "files"
    )
    lab = LabFileServer(server, tmp_path / "root", 6969)
    lab.prepare()
    assert (tmp_path / "root" / "seed.txt").read_text() == "hostname seed\n"
    assert (tmp_path / "root" / "a" / "b.txt").read_text() == "x"
    image = (tmp_path / "root" / "c2960x.tar").read_bytes()
    assert image == b"".join(image_bytes("c2960x.tar", 1024))


def test_no_file_server_no_fixed_port(tmp_path: Path) -> None:
    topo = topology(tmp_path)
    assert topo.tftp_port is None and topo.file_servers == ()


@pytest.mark.parametrize(
    ("lab", "error"),
    [
        ({"file_servers": [{"address": "127.9.0.5"}]}, "file_servers need a tftp_port"),
        ({"tftp_port": 0}, "tftp_port 0 is not a port number"),
        ({"tftp_port": "69"}, "is not a port number"),
        ({"tftp_port": 69, "file_servers": {"address": "127.9.0.5"}}, "must be a list"),
        ({"tftp_port": 69, "file_servers": [{}]}, "needs an 'address'"),
        ({"tftp_port": 69, "file_servers": [{"address": "10.0.0.5"}]}, "127.0.0.0/8 only"),
        ({"tftp_port": 69, "file_servers": [{"address": "host"}]}, "not an IPv4 address"),
        ({"tftp_port": 69, "file_servers": [{"address": "127.9.1.1"}]}, "used twice"),
        ({"tftp_port": 69, "file_servers": [{"address": "127.9.0.1"}]}, "used twice"),
        (
            {"tftp_port": 69, "file_servers": [{"address": "127.9.0.5", "files": {"../x": ""}}]},
            "a file name inside its directory",
        ),
        (
            {"tftp_port": 69, "file_servers": [{"address": "127.9.0.5", "images": ["x"]}]},
            "map file names",
        ),
    ],
)
def test_bad_file_servers_get_one_line(tmp_path: Path, lab: dict[str, Any], error: str) -> None:
    with pytest.raises(TopologyError, match=error.replace("(", r"\(").replace(")", r"\)")) as info:
        topology(tmp_path, **lab)
    assert "\n" not in str(info.value)
