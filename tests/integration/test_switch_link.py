"""The impaired TFTP link (slow or lossy) between an emulated switch and a real TFTP server:
the transfer still completes byte for byte, from the switch's own address."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from smartinstall.services.tftp import TftpServer, TftpServerConfig
from smartinstall.services.tftp_client import ClientOptions, fetch_to
from smartinstall.switch.link import ImpairedRelay, Impairment
from tests.integration.tftp_helpers import RecordingHook, make_tree

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("windowsize", [None, 4])
async def test_lossy_link_transfer_completes(tmp_path: Path, windowsize: int | None) -> None:
    tree = make_tree(tmp_path)
    hook = RecordingHook()
    # a server that retransmits quickly (it ignores duplicate ACKs, RFC 1123): losses cost
    # 50 ms each instead of a second
    config = TftpServerConfig(
        root=tree.root, host="127.0.0.1", port=0, retransmit_timeout=0.05, max_retries=10
    )
    async with TftpServer(config, hook) as server:
        link = Impairment(loss=0.1, delay=0.001, seed=7)
        async with ImpairedRelay(server.address, "127.0.0.66", link, "127.0.0.66") as relay:
            out = io.BytesIO()
            options = ClientOptions(
                blksize=4096,
                windowsize=windowsize,
                retransmit_timeout=0.05,
                max_retries=20,
                local_host="127.0.0.66",
            )
            size = await fetch_to(*relay.address, "image.tar", out, options)
        assert relay.dropped > 0 and relay.relayed > 0
    data = tree.files["image.tar"]
    assert size == len(data)
    assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(data).digest()
    assert {info.peer[0] for info in hook.started} == {"127.0.0.66"}
