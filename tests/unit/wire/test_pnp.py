"""The PnP codec (wire/pnp/) against the shared examples and Cisco's XSDs.

Every example in ``../shared/spec/pnp/examples`` decodes as the right type; every message the
encoders produce validates against the matching ``*_svc.xsd`` (read from ``../shared``, never
copied here); encode/decode round trips; and no input makes a decoder raise anything but
PnpDecodeError. The guide's SMI Proxy error enums and strings (ch. 4, "Unsupported Services").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartinstall.wire import pnp
from smartinstall.wire.pnp import (
    BackoffRequest,
    ByeRequest,
    CapabilityRequest,
    ConfigUpgradeRequest,
    DeviceInfo,
    DeviceInfoRequest,
    FileSystem,
    HardwareInfo,
    ImageInfo,
    ImageInstallRequest,
    NoWork,
    PnpDecodeError,
    PnpError,
    TopologyNeighbour,
    TopologyRequest,
    Udi,
    UnsupportedRequest,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "spec" / "pnp"
EXAMPLES = SHARED / "examples"
XSD = SHARED / "xsd"

pytestmark = pytest.mark.skipif(not XSD.is_dir(), reason="../shared/spec/pnp is not present")

UDI = Udi("WS-C2960X-48FPD-L", "V01", "FOC1234X0AB")
CORR = "CiscoPnP-1.0-1465-25A1212C"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


# --- the guide's strings -------------------------------------------------------------------------


def test_the_guides_enums_and_strings_verbatim() -> None:
    guide = (SHARED.parent / "smart-install-guide.txt").read_text()
    for text in (
        pnp.PNP_ERROR_UNSUPPORTED_REQUEST,
        pnp.SMI_PROXY_UNSUPPORTED_REQUEST,
        pnp.XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED,
        pnp.SMI_PROXY_CONFIG_RUNNING_UNSUPPORTED,
        pnp.XSVC_ERROR_DEVICE_INFO_UNSUPPORTED,
        pnp.SMI_PROXY_DEVICE_HARDWARE_INFO_UNSUPPORTED,
        pnp.SMI_PROXY_DEVICE_FILESYSTEM_INFO_UNSUPPORTED,
    ):
        assert text in guide, text
    assert pnp.SMI_PROXY_UNSUPPORTED_REQUEST == "SMI PROXY:Not supported service request"
    assert pnp.ERROR_CONFIG_RUNNING_UNSUPPORTED.enum == "XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED"
    # the seven services: capabilities, config-upgrade, device-info, image-install, topology,
    # backoff, bye (work-info)
    assert len(pnp.SMI_PROXY_SERVICES) == 7


# --- UDI -----------------------------------------------------------------------------------------


def test_udi_text_and_parse() -> None:
    assert UDI.text == "PID:WS-C2960X-48FPD-L,VID:V01,SN:FOC1234X0AB"
    assert Udi.parse(UDI.text) == UDI
    assert Udi.parse("PID:7206VXR,VID:,SN:34835437") == Udi("7206VXR", "", "34835437")
    assert Udi.parse("PID:CISCO2901/K9,VID:V05,SN:FTX1") == Udi("CISCO2901/K9", "V05", "FTX1")
    assert Udi.parse("PID:WS-C2960+24TC-L,VID:V01,SN:X").pid == "WS-C2960+24TC-L"


@pytest.mark.parametrize(
    "bad", ["", "WS-C2960", "PID:,VID:V01,SN:X", "PID:X,VID:V01,SN:", "SN:X,PID:Y", "x" * 600]
)
def test_udi_parse_refuses(bad: str) -> None:
    with pytest.raises(PnpDecodeError):
        Udi.parse(bad)


# --- the examples decode as the right type ------------------------------------------------------


REQUESTS: dict[str, type] = {
    "02_bye.xml": ByeRequest,
    "03_capability_request.xml": CapabilityRequest,
    "05_device_info_request.xml": DeviceInfoRequest,
    "07_config_upgrade_request.xml": ConfigUpgradeRequest,
    "10_image_install_request.xml": ImageInstallRequest,
    "12_topology_request.xml": TopologyRequest,
    "14_backoff_request_callback.xml": BackoffRequest,
    "15_backoff_request_default.xml": BackoffRequest,
    "16_backoff_request_terminate.xml": BackoffRequest,
}
RESPONSES = {
    "04_capability_response.xml": (pnp.NS_CAPABILITY, True),
    "06_device_info_response.xml": (pnp.NS_DEVICE_INFO, True),
    "08_config_upgrade_response_ok.xml": (pnp.NS_CONFIG_UPGRADE, True),
    "09_config_upgrade_response_err.xml": (pnp.NS_CONFIG_UPGRADE, False),
    "11_image_install_response_err.xml": (pnp.NS_IMAGE_INSTALL, False),
    "13_topology_response.xml": (pnp.NS_TOPOLOGY, True),
    "17_backoff_response.xml": (pnp.NS_BACKOFF, True),
    "18_fault_response.xml": (pnp.NS_FAULT, False),
}


def test_every_example_is_covered() -> None:
    names = {p.name for p in EXAMPLES.glob("*.xml")}
    assert names == set(REQUESTS) | set(RESPONSES) | {"01_work_request.xml"}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_example_requests_decode(name: str) -> None:
    req = pnp.decode_request(example(name))
    assert type(req) is REQUESTS[name]
    assert req.correlator == CORR
    assert req.udi == "PID:WS-C3750X-24T-E,VID:V04,SN:FDO1703P2EB"
    # a request is not a response, nor a work request
    with pytest.raises(PnpDecodeError):
        pnp.decode_response(example(name))
    with pytest.raises(PnpDecodeError):
        pnp.decode_work_request(example(name))


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_example_responses_decode(name: str) -> None:
    ns, success = RESPONSES[name]
    resp = pnp.decode_response(example(name))
    assert resp.namespace == ns
    assert resp.success is success
    assert resp.udi == Udi("WS-C3750X-24T-E", "V04", "FDO1703P2EB")
    assert resp.correlator == ("" if resp.fault else CORR)
    assert (resp.error is None) is success
    with pytest.raises(PnpDecodeError):
        pnp.decode_request(example(name))


def test_example_details() -> None:
    udi, corr = pnp.decode_work_request(example("01_work_request.xml"))
    assert (udi, corr) == (Udi("WS-C3750X-24T-E", "V04", "FDO1703P2EB"), CORR)
    info = pnp.decode_work_request_info(example("01_work_request.xml"))
    assert (info.hostname, info.auth_required, info.via_proxy) == ("Switch", False, True)

    cfg = pnp.decode_request(example("07_config_upgrade_request.xml"))
    assert isinstance(cfg, ConfigUpgradeRequest)
    assert cfg.source_uri == "tftp://192.0.2.10/configs/FDO1703P2EB.cfg"
    assert (cfg.apply_to, cfg.reload, cfg.reload_delay) == ("startup", True, 0)
    assert cfg.checksum == "f4c14103bdb911a7d3982a1fd02cb2df"

    img = pnp.decode_request(example("10_image_install_request.xml"))
    assert isinstance(img, ImageInstallRequest)
    assert img.image_uri == "tftp://192.0.2.10/images/c3750e-universalk9-tar.152-4.E10.tar"
    assert (img.checksum, img.destination) == ("5660cb647e66fa22de8698a5acb7a8ed", "flash:")
    assert (img.reload, img.reload_delay) == (True, 60)

    di = pnp.decode_request(example("05_device_info_request.xml"))
    assert isinstance(di, DeviceInfoRequest) and di.info_type == "all"

    cb = pnp.decode_request(example("14_backoff_request_callback.xml"))
    assert isinstance(cb, BackoffRequest) and cb.callback_after_seconds == 600
    dm = pnp.decode_request(example("15_backoff_request_default.xml"))
    assert isinstance(dm, BackoffRequest) and dm.default_minutes == 5
    te = pnp.decode_request(example("16_backoff_request_terminate.xml"))
    assert isinstance(te, BackoffRequest) and te.terminate

    caps = pnp.decode_response(example("04_capability_response.xml"))
    assert caps.capabilities == pnp.SMI_PROXY_CAPABILITIES
    dinfo = pnp.decode_response(example("06_device_info_response.xml")).device_info
    assert dinfo is not None and dinfo.hardware is not None and dinfo.image is not None
    assert dinfo.hardware.hostname == "Switch"
    assert dinfo.image.version_string.endswith("RELEASE SOFTWARE (fc2)")
    assert dinfo.members[1] == (2, "PID:WS-C3750X-24T-E,VID:V04,SN:FDO1703P2EC")
    assert dinfo.filesystems[0].freespace == 98213376
    topo = pnp.decode_response(example("13_topology_response.xml")).topology
    assert topo[0].device_name == "director.example.net"
    err = pnp.decode_response(example("09_config_upgrade_response_err.xml")).error
    assert err == PnpError("XSVC_APPLY_CFG_COPY_FAILED", "Config copy failed")
    assert err.code == 1404
    err = pnp.decode_response(example("11_image_install_response_err.xml")).error
    assert err is not None and err.code == 1816
    assert err.enum == "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_VERIFY_FAILED"
    fault = pnp.decode_response(example("18_fault_response.xml"))
    assert fault.fault and fault.error == PnpError(
        "XSVC:Client", "An unknown XML tag has been received"
    )


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.xml")))
def test_the_examples_validate(name: str) -> None:
    errors = pnp.validate(example(name), XSD)
    if name == "18_fault_response.xml":  # no XSD exists for the fault
        assert errors == ["no XSD for namespace 'urn:cisco:pnp:fault'"]
    else:
        assert errors == []


# --- what the open-source servers send (protocol.md §5, §8, §9): lenient decoding -----------


def _envelope(body: str, udi: str = "PID:WS-C3750X-24T-E,VID:V04,SN:FDO1703P2EB") -> bytes:
    return f'<pnp xmlns="urn:cisco:pnp" version="1.0" udi="{udi}">{body}</pnp>'.encode()


def test_server_templates_the_xsd_rejects_still_decode() -> None:
    # config-upgrade without applyTo/abortOnSyntaxFault, with noReload (dmfigol, ianz94,
    # GreatSymphonia templates)
    cfg = _envelope(
        '<request correlator="C1" xmlns="urn:cisco:pnp:config-upgrade"><config details="all">'
        "<copy><source><location>http://10.0.0.1/FOC1.cfg</location></source></copy></config>"
        "<noReload/></request>"
    )
    assert pnp.validate(cfg, XSD) != []
    req = pnp.decode_request(cfg)
    assert isinstance(req, ConfigUpgradeRequest)
    assert (req.apply_to, req.apply_to_given, req.reload) == ("startup", False, False)
    # image-install without reload/noReload (ianz94)
    img = _envelope(
        '<request xmlns="urn:cisco:pnp:image-install" correlator="C2"><image><copy><source>'
        "<location>http://10.0.0.1/img.bin</location><checksum>ab</checksum></source>"
        "</copy></image></request>"
    )
    req2 = pnp.decode_request(img)
    assert isinstance(req2, ImageInstallRequest) and req2.image_uri.endswith("img.bin")
    # backoff with seconds/minutes/hours in the wrong order (GreatSymphonia)
    bo = _envelope(
        '<request xmlns="urn:cisco:pnp:backoff" correlator="C3"><backoff><reason>r</reason>'
        "<callbackAfter><seconds>5</seconds><minutes>1</minutes><hours>1</hours>"
        "</callbackAfter></backoff></request>"
    )
    req3 = pnp.decode_request(bo)
    assert isinstance(req3, BackoffRequest) and req3.callback_after_seconds == 3665
    # callbackAfter with no time: 15 minutes
    bo2 = _envelope(
        '<request xmlns="urn:cisco:pnp:backoff" correlator="C4"><backoff><reason>r</reason>'
        "<callbackAfter/></backoff></request>"
    )
    assert pnp.decode_request(bo2) == BackoffRequest(
        "C4", reason="r", callback_after_seconds=900, udi=req3.udi
    )
    # the NSO simulator's lower-case <deviceid>, with an XML declaration
    wr = b'<?xml version="1.0" encoding="UTF-8"?>\n' + _envelope(
        '<info xmlns="urn:cisco:pnp:work-info" correlator="udi1"><deviceid>'
        "<udi>PID:CISCO2901/K9,VID:V05,SN:FTX1</udi><hostname>R</hostname>"
        "<authRequired>false</authRequired></deviceid></info>"
    )
    assert pnp.decode_work_request(wr) == (Udi("CISCO2901/K9", "V05", "FTX1"), "udi1")
    # a cli-exec request as ianz94 sends it: not a service SMI Proxy supports
    cli = _envelope(
        '<request xmlns="urn:cisco:pnp:cli-exec" correlator="C5"><execCLI maxWait="PT30S" '
        'xsd="false"><cmd>show version</cmd></execCLI></request>'
    )
    req5 = pnp.decode_request(cli)
    assert isinstance(req5, UnsupportedRequest)
    assert (req5.namespace, req5.service, req5.correlator) == (pnp.NS_CLI_EXEC, "cli-exec", "C5")
    # an empty answer to a work request: nothing to do
    assert pnp.decode_request(b"") == NoWork()
    assert pnp.decode_request(b"  \r\n") == NoWork()


# --- encoders: XSD-valid in every form ----------------------------------------------------------

NEIGHBOUR = TopologyNeighbour(
    "GigabitEthernet0/1",
    "Gi0/1",
    "0021.d7ae.fc01",
    "GigabitEthernet1/0/24",
    "Gi1/0/24",
    "0022.5566.7718",
    "director",
    "cisco WS-C3850-24T",
    "Cisco IOS Software, Version 16.3.9",
)
DEVINFO = DeviceInfo(
    udi=UDI.text,
    members=((1, UDI.text),),
    filesystems=(FileSystem("bootflash", "flash", 122185728, 98213376),),
    hardware=HardwareInfo(hostname="Switch", vendor="Cisco", platform_name="WS-C2960X-48FPD-L"),
    image=ImageInfo("Cisco IOS Software, Version 15.0(2)EX5", "flash:c2960x.bin"),
)
FAIL = PnpError("XSVC_ERROR_IMGINSTALL_IMG_COPY_FAILED", "Image copy was unsuccessful")


def valid_messages() -> dict[str, bytes]:
    return {
        "work-request": pnp.encode_work_request(UDI, CORR, via_proxy=True, mac_address="a.b.c"),
        "work-request-minimal": pnp.encode_work_request(UDI, CORR),
        "bye": pnp.encode_bye(UDI, CORR),
        "bye-sid": pnp.encode_bye(UDI, CORR, session_id="s1"),
        "capability-request": pnp.encode_capability_request(UDI, CORR, sid="s1"),
        "capability-response": pnp.encode_capability_response(
            UDI, CORR, features=["cisco:pnp:service-log"]
        ),
        "device-info-request": pnp.encode_device_info_request(UDI, CORR, "hardware"),
        "device-info-response": pnp.encode_device_info_response(UDI, CORR, DEVINFO),
        "device-info-response-udi": pnp.encode_device_info_response(
            UDI, CORR, DeviceInfo(udi=UDI.text)
        ),
        "device-info-hw-error": pnp.encode_device_info_response(
            UDI, CORR, error=pnp.ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED
        ),
        "device-info-fs-error": pnp.encode_device_info_response(
            UDI, CORR, error=pnp.ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED
        ),
        "config-upgrade-request": pnp.encode_config_upgrade_request(
            UDI, CORR, "http://127.0.0.1/c.cfg", checksum="00ff"
        ),
        "config-upgrade-running": pnp.encode_config_upgrade_request(
            UDI, CORR, "http://127.0.0.1/c.cfg", apply_to="running", reload=False
        ),
        "config-upgrade-response": pnp.encode_config_upgrade_response(UDI, CORR),
        "config-upgrade-running-error": pnp.encode_config_upgrade_response(
            UDI, CORR, error=pnp.ERROR_CONFIG_RUNNING_UNSUPPORTED, service_log="log"
        ),
        "image-install-request": pnp.encode_image_install_request(
            UDI, CORR, "http://127.0.0.1/i.tar", checksum="5660cb647e66fa22de8698a5acb7a8ed"
        ),
        "image-install-noreload": pnp.encode_image_install_request(
            UDI, CORR, "http://127.0.0.1/i.tar", reload=False, destination=None
        ),
        "image-install-response": pnp.encode_image_install_response(UDI, CORR),
        "image-install-error": pnp.encode_image_install_response(UDI, CORR, error=FAIL),
        "topology-request": pnp.encode_topology_request(UDI, CORR),
        "topology-response": pnp.encode_topology_response(UDI, CORR, [NEIGHBOUR, NEIGHBOUR]),
        "backoff-callback": pnp.encode_backoff_request(UDI, CORR, callback_after_seconds=3725),
        "backoff-default": pnp.encode_backoff_request(UDI, CORR, default_minutes=5),
        "backoff-terminate": pnp.encode_backoff_request(UDI, CORR, terminate=True),
        "backoff-response": pnp.encode_backoff_response(UDI, CORR),
        "backoff-error": pnp.encode_backoff_response(
            UDI, CORR, error=PnpError("XSVC_ERROR_BACKOFF_INTERNAL", "x")
        ),
        "backoff-unsupported": pnp.encode_backoff_response(
            UDI, CORR, error=pnp.ERROR_UNSUPPORTED_REQUEST
        ),
        "cli-exec-request": pnp.encode_cli_exec_request(UDI, CORR),
        **{
            f"unsupported-{svc}": pnp.encode_error_response(
                UDI, svc, CORR, pnp.ERROR_UNSUPPORTED_REQUEST
            )
            # file-transfer is left out: its _svc.xsd has a typo in its targetNamespace
            # ("urn:cisco: pnp"), so nothing validates against it
            for svc in (
                "cli-exec",
                "cli-config",
                "reload",
                "script",
                "licensing",
                "snmp",
                "snooping",
                "redirection",
                "certificate-install",
                "device-auth",
                "eem-proxy",
                "smu",
                "config-upgrade",
                "device-info",
                "image-install",
            )
        },
    }


@pytest.mark.parametrize("name", sorted(valid_messages()))
def test_encoded_messages_validate(name: str) -> None:
    assert pnp.validate(valid_messages()[name], XSD) == []


def test_error_forms_the_schemas_cannot_express() -> None:
    # capability and topology have no errorInfo in their XSDs: the error form carries one anyway
    # (the only way to say what failed), and the validator says exactly that.
    cap = pnp.encode_capability_response(UDI, CORR, error=pnp.ERROR_UNSUPPORTED_REQUEST)
    [msg] = pnp.validate(cap, XSD)
    assert "{urn:cisco:pnp:capability}errorInfo': This element is not expected" in msg
    topo = pnp.encode_topology_response(UDI, CORR, error=pnp.ERROR_UNSUPPORTED_REQUEST)
    [msg] = pnp.validate(topo, XSD)
    assert "{urn:cisco:pnp:topology}errorInfo': This element is not expected" in msg
    for data in (cap, topo):
        resp = pnp.decode_response(data)
        assert not resp.success and resp.error == pnp.ERROR_UNSUPPORTED_REQUEST


def test_the_fault_and_validate_refusals() -> None:
    fault = pnp.encode_fault(UDI)
    assert pnp.validate(fault, XSD) == ["no XSD for namespace 'urn:cisco:pnp:fault'"]
    assert pnp.decode_response(fault).fault
    assert pnp.validate(b"<nope", XSD)[0].startswith("not well-formed XML")
    assert pnp.validate(pnp.encode_bye(UDI, CORR), XSD / "missing")[0].startswith("no XSD file")


def test_the_guides_errors_on_the_wire() -> None:
    data = pnp.encode_error_response(UDI, "cli-exec", CORR, pnp.ERROR_UNSUPPORTED_REQUEST)
    assert b"<errorCode>PnP Service Error 1301</errorCode>" in data
    assert b"<errorMessage>SMI PROXY:Not supported service request</errorMessage>" in data
    resp = pnp.decode_response(data)
    assert resp.error == pnp.ERROR_UNSUPPORTED_REQUEST and resp.error.code == 1301
    assert resp.service == "cli-exec" and resp.correlator == CORR

    data = pnp.encode_config_upgrade_response(UDI, CORR, error=pnp.ERROR_CONFIG_RUNNING_UNSUPPORTED)
    assert b"<errorSeverity>XSVC_ERROR</errorSeverity>" in data
    assert b"<errorCode>PnP Service Error 1401</errorCode>" in data
    assert pnp.decode_response(data).error == pnp.ERROR_CONFIG_RUNNING_UNSUPPORTED

    for error in (
        pnp.ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED,
        pnp.ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED,
    ):
        data = pnp.encode_device_info_response(UDI, CORR, error=error)
        assert b"<errorCode>PnP Service Error 1601</errorCode>" in data
        assert pnp.decode_response(data).error == error
    # the backoff schema's own severity words
    data = pnp.encode_backoff_response(UDI, CORR, error=pnp.ERROR_UNSUPPORTED_REQUEST)
    assert b"<errorSeverity>ERROR</errorSeverity>" in data
    assert b"PnP Service Error 3001" in data


# --- round trips --------------------------------------------------------------------------------

ROUND_TRIP_REQUESTS = [
    CapabilityRequest(CORR, udi=UDI.text),
    TopologyRequest(CORR, udi=UDI.text, sid="s9"),
    DeviceInfoRequest(CORR, "filesystem", udi=UDI.text),
    ConfigUpgradeRequest(
        CORR,
        "http://127.0.0.1/c.cfg",
        apply_to="running",
        checksum="ab",
        reload=True,
        reload_delay=30,
        reload_reason="r",
        reload_user="u",
        save_config=True,
        details="brief",
        udi=UDI.text,
    ),
    ConfigUpgradeRequest(CORR, "tftp://127.0.0.1/c.cfg", reload=False, details=None, udi=UDI.text),
    ImageInstallRequest(
        CORR,
        "http://127.0.0.1/i.tar",
        checksum="cd",
        destination="flash:",
        reload_delay=5,
        reload_reason="x",
        reload_user="y",
        save_config=False,
        udi=UDI.text,
    ),
    ImageInstallRequest(CORR, "http://127.0.0.1/i.bin", reload=False, udi=UDI.text),
    BackoffRequest(CORR, reason="wait", callback_after_seconds=61, udi=UDI.text),
    BackoffRequest(CORR, reason="poll", default_minutes=2880, udi=UDI.text),
    BackoffRequest(CORR, reason="done", terminate=True, udi=UDI.text),
    ByeRequest(CORR, session_id="s1", udi=UDI.text),
    UnsupportedRequest(pnp.NS_CLI_EXEC, CORR, udi=UDI.text),
    UnsupportedRequest("urn:cisco:pnp:reload", CORR, udi=UDI.text),
]


@pytest.mark.parametrize("req", ROUND_TRIP_REQUESTS, ids=lambda r: type(r).__name__)
def test_requests_round_trip(req: pnp.ServiceRequest) -> None:
    data = pnp.encode_request(req)
    assert pnp.decode_request(data) == req
    if not isinstance(req, UnsupportedRequest) or req.namespace == pnp.NS_CLI_EXEC:
        assert pnp.validate(data, XSD) == []


def test_no_work_round_trips_as_an_empty_body() -> None:
    assert pnp.encode_request(NoWork()) == b""
    assert pnp.decode_request(b"") == NoWork()


def test_responses_round_trip() -> None:
    resp = pnp.decode_response(pnp.encode_device_info_response(UDI, CORR, DEVINFO))
    assert resp.device_info == DEVINFO and resp.success and resp.udi == UDI
    resp = pnp.decode_response(pnp.encode_topology_response(UDI, CORR, [NEIGHBOUR]))
    assert resp.topology == (NEIGHBOUR,)
    resp = pnp.decode_response(pnp.encode_capability_response(UDI, CORR, ["cisco:pnp:x"]))
    assert resp.capabilities == ("cisco:pnp:x",)
    resp = pnp.decode_response(pnp.encode_image_install_response(UDI, CORR, error=FAIL))
    assert resp.error == FAIL and resp.error.code == 1829
    resp = pnp.decode_response(pnp.encode_config_upgrade_response(UDI, CORR, service_log="a<b"))
    assert resp.success and resp.service_log == "a<b"
    info = pnp.decode_work_request_info(
        pnp.encode_work_request(UDI, "c7", hostname="IBC1", via_proxy=True, mac_address="m")
    )
    assert (info.udi, info.correlator, info.hostname) == (UDI, "c7", "IBC1")
    assert (info.via_proxy, info.mac_address, info.auth_required) == (True, "m", False)


@given(
    pid=st.text(st.characters(codec="ascii", exclude_characters=","), min_size=1, max_size=20),
    vid=st.text(st.characters(codec="ascii", exclude_characters=","), max_size=5),
    sn=st.text(st.characters(codec="ascii"), min_size=1, max_size=20),
)
@FUZZ
def test_udi_round_trips(pid: str, vid: str, sn: str) -> None:
    pid, vid, sn = pid.strip(), vid.strip(), sn.strip()
    if not pid or not sn or "\x00" in pid + vid + sn:
        return
    try:
        udi = Udi.parse(Udi(pid, vid, sn).text)
    except PnpDecodeError:
        # "PID:a,VID:b,SN:..." inside the PID itself is ambiguous by construction
        assert "PID:" in pid + vid or ",VID:" in pid + vid or ",SN:" in pid + vid
        return
    if ",VID:" not in pid and ",SN:" not in pid + vid:
        assert udi == Udi(pid, vid, sn)


@given(seconds=st.integers(0, 47 * 3600 + 59 * 60 + 59), reason=st.text(max_size=40))
@FUZZ
def test_backoff_seconds_round_trip(seconds: int, reason: str) -> None:
    try:
        data = pnp.encode_backoff_request(UDI, CORR, reason, callback_after_seconds=seconds)
    except ValueError:  # text XML cannot hold (control characters)
        return
    req = pnp.decode_request(data)
    assert isinstance(req, BackoffRequest) and req.callback_after_seconds == seconds
    assert req.reason == reason.strip()


def test_encoders_refuse_impossible_values() -> None:
    with pytest.raises(ValueError):
        pnp.encode_backoff_request(UDI, CORR)
    with pytest.raises(ValueError):
        pnp.encode_backoff_request(UDI, CORR, default_minutes=0)
    with pytest.raises(ValueError):
        pnp.encode_backoff_request(UDI, CORR, callback_after_seconds=48 * 3600)
    with pytest.raises(ValueError):
        pnp.encode_work_request(UDI, "bad\x00correlator")


# --- hostile input ------------------------------------------------------------------------------

DECODERS: list[Callable[[bytes], object]] = [
    pnp.decode_request,
    pnp.decode_response,
    pnp.decode_work_request,
    pnp.decode_work_request_info,
    pnp.schema_file_for,
]


def _only_decode_errors(data: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(PnpDecodeError):
            decode(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe<pnp/>",
        b"<pnp xmlns='urn:cisco:pnp'/>",
        b"<pnp><a/><b/></pnp>",
        b"<other/>",
        b'<?xml version="1.0"?><!DOCTYPE pnp [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<pnp udi="&b;"/>',
        b'<!DOCTYPE pnp SYSTEM "http://127.0.0.1:9/x.dtd"><pnp/>',
        b'<!DOCTYPE pnp [<!ENTITY x SYSTEM "file:///etc/passwd">]><pnp udi="&x;"/>',
        b"<pnp>" * 10_000,
        _envelope('<request xmlns="urn:cisco:pnp:backoff" correlator="c"><backoff/></request>'),
        _envelope(
            '<request xmlns="urn:cisco:pnp:backoff" correlator="c"><backoff><reason/>'
            "<defaultMinutes>99999999999999999999999</defaultMinutes></backoff></request>"
        ),
        _envelope('<response xmlns="urn:cisco:pnp:topology" correlator="c" success="2"/>'),
        _envelope('<response xmlns="urn:cisco:pnp:topology" success="1"/>'),
        _envelope("<response/>"),
        _envelope('<request xmlns="urn:cisco:pnp:config-upgrade" correlator="c"/>'),
        _envelope('<info xmlns="urn:cisco:pnp:work-info" correlator="c"/>'),
        _envelope('<info xmlns="urn:cisco:pnp:work-info"><deviceId/></info>', udi="junk"),
        b" " * (pnp.MAX_MESSAGE_SIZE + 1),
        b"<pnp>" + b"a" * pnp.MAX_MESSAGE_SIZE + b"</pnp>",
    ],
)
def test_hostile_input_raises_only_decode_errors(data: bytes) -> None:
    _only_decode_errors(data)


def test_entities_are_never_expanded() -> None:
    data = b'<!DOCTYPE pnp [<!ENTITY x SYSTEM "file:///etc/passwd">]><pnp udi="&x;"/>'
    with pytest.raises(PnpDecodeError):
        pnp.decode_response(data)
    with pytest.raises(PnpDecodeError, match="exceeds"):
        pnp.decode_response(b" " * (pnp.MAX_MESSAGE_SIZE + 1))


@given(st.binary(max_size=2048))
@FUZZ
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    _only_decode_errors(data)


SAMPLES = sorted(p.read_bytes() for p in EXAMPLES.glob("*.xml")) + list(valid_messages().values())


@given(
    sample=st.sampled_from(SAMPLES),
    edits=st.lists(
        st.tuples(st.integers(0, 4000), st.integers(0, 30), st.binary(max_size=12)), max_size=6
    ),
)
@FUZZ
def test_mutated_messages_raise_only_decode_errors(
    sample: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    data = bytearray(sample)
    for pos, cut, insert in edits:
        pos %= len(data) + 1
        data[pos : pos + cut] = insert
    _only_decode_errors(bytes(data))


@given(
    sample=st.sampled_from(SAMPLES),
    word=st.sampled_from(
        [
            b"correlator",
            b"success",
            b"udi",
            b"request",
            b"response",
            b"info",
            b"1",
            b"0",
            b"urn:cisco:pnp:",
            b"deviceId",
            b"location",
            b"reload",
            b"backoff",
            b"errorInfo",
        ]
    ),
    replacement=st.sampled_from([b"", b"x", b"-1", b"99999999999999", b"\xff", b"&amp;", b"<"]),
)
@FUZZ
def test_words_replaced_raise_only_decode_errors(
    sample: bytes, word: bytes, replacement: bytes
) -> None:
    _only_decode_errors(sample.replace(word, replacement))
