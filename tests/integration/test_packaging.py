"""How the director is deployed: the systemd unit (Type=notify readiness, hardening), the
Dockerfile, ``director --config-check`` and the sdist/wheel (docs/deployment.md)."""

from __future__ import annotations

import configparser
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartinstall import cli, sdnotify
from tests.integration.director_harness import ROOT, DirectorProcess, lab_prefix
from tests.tools import find_program

UNIT = ROOT / "packaging" / "systemd" / "smartinstall-director.service"
DOCKERFILE = ROOT / "Dockerfile"
DATA_DIR = "/var/lib/smartinstall"


def director_config(prefix: str) -> str:
    return f"hostname Director\nvstack director {prefix}.1\nvstack basic\n"


# --- the systemd unit ------------------------------------------------------------------------


def read_unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def test_systemd_unit(tmp_path: Path) -> None:
    unit = read_unit(UNIT)
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["ExecStart"] == f"/usr/local/bin/smartinstall director --data-dir {DATA_DIR}"
    assert service["ExecReload"].split()[-2:] == ["-HUP", "$MAINPID"]
    assert service["User"] == "smartinstall"
    assert service["StateDirectory"] == "smartinstall"
    assert service["ReadWritePaths"] == DATA_DIR
    assert service["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert service["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "RestrictSUIDSGID": "yes",
    }.items():
        assert service[key] == value, key
    # NOTIFY_SOCKET and the console socket are AF_UNIX; the services are IPv4
    families = set(service["RestrictAddressFamilies"].split())
    assert {"AF_UNIX", "AF_INET"} <= families
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    analyze = find_program("systemd-analyze")
    if analyze is not None:
        _systemd_verify(analyze, tmp_path)


def _systemd_verify(analyze: str, folder: Path) -> None:
    """``systemd-analyze verify`` on the unit, its ExecStart pointed at this environment's
    ``smartinstall`` (verify insists the program exists)."""
    program = Path(sys.executable).parent / "smartinstall"
    assert program.exists(), program
    copy = folder / UNIT.name
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/smartinstall", str(program)))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    said = [line for line in result.stderr.splitlines() if UNIT.name in line]
    assert result.returncode == 0 and not said, result.stderr


# --- the Dockerfile --------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments left out."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), " ".join(rest.split())))
    return found


def test_dockerfile() -> None:
    steps = dockerfile_instructions(DOCKERFILE.read_text())
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    assert stages and steps[0][0] == "FROM"
    final = steps[stages[-1] :]
    assert final[0][1] == "python:3.11-slim"

    def args(word: str) -> list[str]:
        return [rest for each, rest in final if each == word]

    users = args("USER")
    assert users and users[-1] not in ("root", "0"), users
    run = " ".join(args("RUN"))
    assert "pip install" in run and "cap_net_bind_service=+ep" in run
    assert f"useradd --system --gid smartinstall --home-dir {DATA_DIR}" in run
    assert args("VOLUME") == [DATA_DIR]
    assert set(" ".join(args("EXPOSE")).split()) == {"67/udp", "69/udp", "4786/tcp", "22/tcp"}
    (health,) = args("HEALTHCHECK")
    assert "smartinstall console --data-dir /var/lib/smartinstall" in health
    assert args("ENTRYPOINT") == ['["smartinstall"]']
    assert args("CMD")[-1].startswith(f'["director", "--data-dir", "{DATA_DIR}"')
    # what the image is built from is in the build context (.dockerignore keeps it)
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for word, rest in steps:
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _dest = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source not in ignored, source
    # hadolint and the image built and run: tests/integration/test_container_image.py


def healthcheck_command(data_dir: Path) -> str:
    """The Dockerfile's HEALTHCHECK command, for the data directory ``data_dir``."""
    steps = dockerfile_instructions(DOCKERFILE.read_text())
    (health,) = [rest for word, rest in steps if word == "HEALTHCHECK"]
    command = health.split(" CMD ", 1)[1]
    program = str(Path(sys.executable).parent / "smartinstall")
    return command.replace("smartinstall console", f"{program} console").replace(
        DATA_DIR, str(data_dir)
    )


# --- sd_notify and the health check against a real director ------------------------------


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket with an abstract name, as systemd gives in NOTIFY_SOCKET."""
    name = f"@smartinstall-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sdnotify.socket_address(name))
    sock.settimeout(30)
    try:
        yield sock, name
    finally:
        sock.close()


def test_notify_path_and_unset(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        assert sdnotify.notify(sdnotify.READY, environ={"NOTIFY_SOCKET": str(path)})
        assert sock.recv(4096) == b"READY=1"
    assert not sdnotify.notify(sdnotify.READY, environ={})
    # a manager gone away is said in the log, never raised
    assert not sdnotify.notify(sdnotify.READY, environ={"NOTIFY_SOCKET": str(tmp_path / "no")})


@pytest.mark.slow
def test_director_notifies_systemd(
    tmp_path: Path, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, name = notify_socket
    prefix = lab_prefix()
    director = DirectorProcess(
        tmp_path / "director", prefix, director_config(prefix), extra_env={"NOTIFY_SOCKET": name}
    )
    director.start()  # returns once "director ready" is logged
    try:
        assert sock.recv(4096) == b"READY=1"
        health = subprocess.run(["sh", "-c", healthcheck_command(director.data_dir)], timeout=60)
        assert health.returncode == 0
        assert director.process is not None
        director.process.send_signal(signal.SIGHUP)  # systemctl reload
        reloading = sock.recv(4096).decode().splitlines()
        assert reloading[0] == "RELOADING=1" and reloading[1].startswith("MONOTONIC_USEC=")
        assert sock.recv(4096) == b"READY=1"
    finally:
        code = director.stop()
    assert code == 0
    assert sock.recv(4096) == b"STOPPING=1"
    # the health check fails when the director is not running
    assert subprocess.run(["sh", "-c", healthcheck_command(director.data_dir)]).returncode != 0
    # the data directory it left passes the check, its database opened read-only
    result = subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "director", "--config-check",
         "--data-dir", str(director.data_dir)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "opened read-only, every page readable" in result.stdout
    assert "3 lines replayed, every line accepted" in result.stdout


# --- director --config-check -----------------------------------------------------------------


def config_check(data_dir: Path, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    code = cli.main(["director", "--config-check", "--data-dir", str(data_dir), *more])
    return code, capsys.readouterr().out


def good_data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    (data_dir / "flash").mkdir(parents=True)
    (data_dir / "startup-config").write_text(director_config("127.0.0"))
    return data_dir


def test_config_check_good(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = good_data_dir(tmp_path)
    code, out = config_check(data_dir, capsys)
    assert code == 0, out
    assert out.splitlines()[0] == f"Checking data directory {data_dir}"
    assert "director.db not present: made at the first start" in out
    assert out.splitlines()[-1] == "Configuration check passed: the director can start"
    assert sorted(p.name for p in data_dir.iterdir()) == ["flash", "startup-config"]


def test_config_check_damaged_startup_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = good_data_dir(tmp_path)
    with (data_dir / "startup-config").open("a") as stream:
        stream.write("vstack director 300.1.1.1\n")
    code, out = config_check(data_dir, capsys)
    assert code == 1
    assert "% startup-config line 4 rejected: vstack director 300.1.1.1: % Invalid input" in out
    assert out.splitlines()[-1] == "% Configuration check failed: 1 problem"
    # as the director, started with --ignore-config-errors
    code, out = config_check(data_dir, capsys, "--ignore-config-errors")
    assert code == 0, out
    assert "(ignored: --ignore-config-errors)" in out


def test_config_check_database_and_flash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = good_data_dir(tmp_path)
    (data_dir / "flash").rmdir()
    (data_dir / "director.db.created").write_text("opened once\n")
    code, out = config_check(data_dir, capsys)
    assert code == 1
    assert "% the director database" in out and "is missing" in out
    assert f"% flash: {data_dir / 'flash'} does not exist" in out
    assert out.splitlines()[-1] == "% Configuration check failed: 2 problems"
    (data_dir / "director.db").write_bytes(b"not a database")
    code, out = config_check(data_dir, capsys)
    assert "is not a SQLite database" in out
    code, out = config_check(tmp_path / "nowhere", capsys)
    assert code == 1 and "does not exist or is not a directory" in out


# --- sdist and wheel -------------------------------------------------------------------------

SOURCES = (
    "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "CHANGELOG.md",
    "constraints-dev.txt", "Dockerfile", ".dockerignore", "src", "docs", "examples", "packaging",
)  # fmt: skip


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel, built once (offline: the build backend of this environment) from a
    copy of the tree, so a build never writes into it."""
    pytest.importorskip("build", reason="the dev dependency `build` is not installed")
    tree = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel",
         "--outdir", str(out), str(tree)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def repo_files(folder: str) -> set[str]:
    return {
        str(p.relative_to(ROOT))
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_sdist_complete(dist: Path) -> None:
    (sdist,) = dist.glob("smartinstall-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for folder in ("docs", "examples", "packaging", "src/smartinstall"):
        missing = repo_files(folder) - names
        assert not missing, sorted(missing)[:10]
    for name in ("Dockerfile", "CHANGELOG.md", "LICENSE", "README.md", "pyproject.toml"):
        assert name in names
    # CISCO-SMART-INSTALL-MIB is Cisco's: never shipped
    assert not [n for n in names if n.lower().endswith((".mib", ".my", "-mib.txt"))]


def test_wheel_has_package_data(dist: Path) -> None:
    (wheel,) = dist.glob("smartinstall-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(
            archive.read(n).decode() for n in names if n.endswith("entry_points.txt")
        )
    package = ROOT / "src"
    expected = {
        str(p.relative_to(package))
        for pattern in (
            "smartinstall/data/*.yaml",
            "smartinstall/data/textfsm/*.textfsm",
            "smartinstall/data/textfsm/index",
            "smartinstall/store/migrations/*.py",
            "smartinstall/store/migrations/script.py.mako",
            "smartinstall/store/migrations/versions/*.py",
            "smartinstall/services/http/templates/*.html",
            "smartinstall/py.typed",
        )
        for p in package.glob(pattern)
    }
    assert len(expected) > 20
    assert not expected - names, sorted(expected - names)
    assert "smartinstall = smartinstall.cli:main" in entry_points
    assert not [n for n in names if n.lower().endswith((".mib", ".my"))]
