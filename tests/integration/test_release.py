"""What a release is: its version from the git tag (setuptools-scm), the fallback version of a
tree without git metadata, and the built wheel installed into a fresh venv running the
example branch from the sdist's ``examples`` (README, "make demo"; docs/lab.md)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
from pathlib import Path

import pytest

from smartinstall import FALLBACK_VERSION
from tests.integration.director_harness import ROOT
from tests.integration.test_packaging import dist
from tests.tools import require_program

__all__ = ["dist"]  # the sdist and wheel fixture, built once for this module


def plain_env() -> dict[str, str]:
    """The environment without anything that points Python (or git) at this tree."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_", "GIT_"))
    }


def test_version_comes_from_the_git_tag(tmp_path: Path) -> None:
    """A commit tagged v9.8.7 is version 9.8.7; the next commit a development version of
    9.8.8 — with this project's setuptools-scm settings (pyproject.toml)."""
    git = require_program("git")
    pytest.importorskip("setuptools_scm", reason="the dev dependency setuptools-scm")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    identity = ["-c", "user.name=release test", "-c", "user.email=release@example.invalid"]

    def run(*args: str) -> str:
        result = subprocess.run(
            args, cwd=tmp_path, capture_output=True, text=True, timeout=60, env=plain_env()
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.strip()

    def version() -> str:
        return run(sys.executable, "-m", "setuptools_scm").splitlines()[-1]

    run(git, "init", "-q")
    run(git, *identity, "add", "pyproject.toml")
    run(git, *identity, "commit", "-q", "-m", "first")
    run(git, *identity, "tag", "v9.8.7")
    assert version() == "9.8.7"
    (tmp_path / "README.md").write_text("more\n")
    run(git, *identity, "add", "README.md")
    run(git, *identity, "commit", "-q", "-m", "second")
    assert version().startswith("9.8.8.dev1+g")


def test_one_fallback_version() -> None:
    """The package's fallback (a tree run without being installed) is the build's."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert settings["tool"]["setuptools_scm"]["fallback_version"] == FALLBACK_VERSION
    assert "version" in settings["project"]["dynamic"]
    assert any(r.startswith("setuptools-scm") for r in settings["build-system"]["requires"])


def test_a_tree_without_git_metadata_has_the_fallback_version(dist: Path) -> None:
    """The fixture builds from a copy of the tree without ``.git``: the fallback version, which
    the sdist carries in PKG-INFO."""
    (sdist,) = dist.glob("smartinstall-*.tar.gz")
    assert sdist.name == f"smartinstall-{FALLBACK_VERSION}.tar.gz"
    (wheel,) = dist.glob("smartinstall-*.whl")
    assert wheel.name.startswith(f"smartinstall-{FALLBACK_VERSION}-py3-")
    with tarfile.open(sdist) as archive:
        pkg_info = archive.extractfile(f"smartinstall-{FALLBACK_VERSION}/PKG-INFO")
        assert pkg_info is not None
        assert f"\nVersion: {FALLBACK_VERSION}\n" in pkg_info.read().decode()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_wheel_in_a_fresh_venv_runs_the_example_branch(dist: Path, tmp_path: Path) -> None:
    """The wheel installed into a new venv (its dependencies seen from this environment's
    site-packages: no index, no network) runs ``smartinstall lab`` on the sdist's
    ``examples/branch``: every one of the seven switches upgraded. The example's 127.20.x.y
    addresses are moved to another 127.N.x.y so that runs never collide."""
    (wheel,) = dist.glob("smartinstall-*.whl")
    (sdist,) = dist.glob("smartinstall-*.tar.gz")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    # the dependencies: this environment's site-packages, after the venv's own
    (Path(purelib) / "smartinstall-test-deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    env = plain_env()
    where = subprocess.run(
        [python, "-c", "import smartinstall; print(smartinstall.__file__)"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert where.stdout.strip().startswith(purelib), where.stdout + where.stderr
    program = venv / "bin" / "smartinstall"
    said = subprocess.run(
        [program, "--version"], capture_output=True, text=True, timeout=60, env=env
    )
    assert said.stdout == f"smartinstall {FALLBACK_VERSION}\n", said.stdout + said.stderr
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    tree = tmp_path / sdist.name.removesuffix(".tar.gz")
    octet = random.randint(21, 29)  # not 20 (the example as is), not lab_prefix's 30-250
    for name in ("topology.yaml", "startup-config"):
        path = tree / "examples" / "branch" / name
        path.write_text(path.read_text().replace("127.20.", f"127.{octet}."))
    demo = subprocess.run(
        [program, "lab", "examples/branch/topology.yaml"],
        cwd=tree, capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip
    out = demo.stdout
    assert demo.returncode == 0, out[-4000:] + demo.stderr[-4000:]
    assert "7/7 switches UPGRADED" in out and "Every switch UPGRADED" in out
    rows = [line.split() for line in out.splitlines() if " zero-touch " in line]
    assert len(rows) == 7 and all(row[4:6] == ["UPGRADED", "UPGRADED"] for row in rows), out
