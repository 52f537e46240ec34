"""The answer when option 150 names a third-party TFTP server (guide: "Third-Party, Non-Cisco
IOS Device as the TFTP Server", "Image List File"): the imagelist (a legacy client's tailored
configuration) is written there, next to the file that named the server."""

from __future__ import annotations

from smartinstall.domain.devices import JoinState
from smartinstall.domain.groups import ClientFacts, GroupFiles, GroupSettings, resolve
from smartinstall.domain.provisioning import ClientContext, Offer, decide_offer

MAC = "0050.5601.0001"
SERVER = "tftp://10.1.1.100"


def _offer(files: GroupFiles, legacy: bool = False) -> Offer:
    assignment = resolve(
        GroupSettings(default=files), ClientFacts(mac=MAC, pid="WS-C2960X-48FPS-L")
    )
    context = ClientContext(mac=MAC, join_state=JoinState.ALLOWED, legacy=legacy)
    return decide_offer(assignment, context, "10.1.1.1")


def test_image_and_config_on_the_server_put_the_imagelist_there() -> None:
    result = _offer(GroupFiles(f"{SERVER}/img/c2960x.tar", f"{SERVER}/cfg/seed.txt"))
    assert result.tftp_server == "10.1.1.100"
    assert result.config_file == "cfg/seed.txt"
    # next to the configuration that named the server: a directory that exists
    assert result.imagelist_file == "cfg/imagelist-default.txt"
    assert result.imagelist_url == f"{SERVER}/cfg/imagelist-default.txt"
    assert result.imagelist == f"{SERVER}/img/c2960x.tar\n"


def test_image_alone_on_the_server_with_its_port() -> None:
    result = _offer(GroupFiles("tftp://10.1.1.100:6969/c2960x.tar"))
    assert result.tftp_server == "10.1.1.100" and result.config_file is None
    assert result.imagelist_file == "imagelist-default.txt"
    assert result.imagelist_url == "tftp://10.1.1.100:6969/imagelist-default.txt"


def test_a_flash_configuration_keeps_the_imagelist_on_the_director() -> None:
    result = _offer(GroupFiles(f"{SERVER}/img/c2960x.tar", "flash:seed.txt"))
    assert result.tftp_server == "10.1.1.1" and result.config_file == "seed.txt"
    assert result.imagelist_file == "vstack/imagelist-default.txt"
    assert result.imagelist_url is None


def test_a_legacy_client_gets_its_tailored_configuration_on_the_server() -> None:
    result = _offer(GroupFiles(f"{SERVER}/img/c2960x.tar", "flash:seed.txt"), legacy=True)
    assert result.tftp_server == "10.1.1.100" and result.tailored
    assert result.config_file == "img/tailored-0050.5601.0001.txt"
    assert result.tailored_url == f"{SERVER}/img/tailored-0050.5601.0001.txt"


def test_files_on_flash_are_written_on_flash() -> None:
    result = _offer(GroupFiles("flash:c2960x.tar", "flash:seed.txt"))
    assert result.imagelist_url is None and result.tailored_url is None
