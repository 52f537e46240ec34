"""`smartinstall textfsm-dir DIR`: the chained TextFSM index for Netmiko's NET_TEXTFSM."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartinstall.cli import main
from smartinstall.textfsm_dir import TEMPLATES, chained_index, ntc_templates_dir


def test_writes_the_chained_index_and_says_what_to_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ntc = ntc_templates_dir()
    if ntc is None:
        pytest.skip("ntc-templates is not installed")
    assert main(["textfsm-dir", str(tmp_path / "tfsm")]) == 0
    assert capsys.readouterr().out == f"export NET_TEXTFSM={(tmp_path / 'tfsm').resolve()}\n"
    index = (tmp_path / "tfsm" / "index").read_text()
    assert index == chained_index(ntc)
    first_ntc = index.index(str(ntc))
    assert index.rindex(str(TEMPLATES)) < first_ntc


def test_refuses_a_directory_without_an_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["textfsm-dir", str(tmp_path / "out"), "--ntc-templates", str(tmp_path)]) == 1
    assert "no TextFSM index there" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
