"""The container image (docs/deployment.md): the Dockerfile linted by hadolint, and, where a
container engine answers ``docker info``, the image built and run — ``--version`` and the
director answering its console (what the HEALTHCHECK asks) inside the container."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from smartinstall import FALLBACK_VERSION
from tests.integration.director_harness import ROOT
from tests.tools import find_program, require_program

DOCKERFILE = ROOT / "Dockerfile"
HEALTH = "printf 'show vstack status\\n' | smartinstall console --data-dir /var/lib/smartinstall"


def hadolint_findings(hadolint: str) -> subprocess.CompletedProcess[str]:
    """Every finding, down to the ``info`` level, fails: the Dockerfile has none, or an inline
    ``# hadolint ignore=`` with the reason next to it."""
    return subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def engine() -> tuple[str | None, str]:
    """(the docker program, "") when its daemon answers, else (None, why not)."""
    docker = find_program("docker")
    if docker is None:
        return None, "no docker program"
    try:
        info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None, "docker info did not answer in 30 s"
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no answer"])[-1]
        return None, f"no container engine answers docker info ({reason})"
    return docker, ""


@pytest.fixture
def image_tag() -> Iterator[str]:
    tag = f"smartinstall-test:{uuid.uuid4().hex[:12]}"
    yield tag
    docker = find_program("docker")
    if docker is not None:
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True, timeout=120)


def build_and_run(docker: str, tag: str) -> None:
    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([docker, *args], capture_output=True, text=True, timeout=timeout)

    built = run("build", "--tag", tag, str(ROOT), timeout=1500)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    version = run("run", "--rm", "--network", "none", tag, "--version")
    # the build context has no .git: the fallback version
    assert version.stdout == f"smartinstall {FALLBACK_VERSION}\n", version.stdout + version.stderr
    started = run("run", "--detach", "--network", "none", tag)
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        deadline = time.monotonic() + 120
        while True:
            health = run("exec", container, "sh", "-c", HEALTH)
            if health.returncode == 0:
                break
            assert time.monotonic() < deadline, health.stdout + health.stderr
            time.sleep(0.5)
        assert "SmartInstall" in health.stdout, health.stdout
        assert run("exec", container, "id", "-u").stdout.strip() == "10001"
    finally:
        run("rm", "--force", "--volumes", container)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_container_image(image_tag: str, record_property: pytest.RecordProperty) -> None:
    """hadolint always; the build and a run only where a container engine answers. What was
    done is recorded as the ``container`` property (junit XML, ``-rP``)."""
    lint = hadolint_findings(require_program("hadolint"))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    docker, why = engine()
    if docker is None:
        done = f"hadolint clean; image not built: {why}"
    else:
        build_and_run(docker, image_tag)
        done = "hadolint clean; image built and run"
    record_property("container", done)
    print(done)
