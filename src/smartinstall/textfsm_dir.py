"""A TextFSM template directory for ``NET_TEXTFSM`` that holds smartinstall's templates *and*
ntc-templates'.

Netmiko (``use_textfsm=True``) reads one ``index`` from one directory: pointed at the package's
own ``data/textfsm``, it would find the director's ``show vstack`` templates but none of
ntc-templates' (``show version``, ``show ip interface brief`` …). :func:`write_chained_dir`
writes an ``index`` whose rows are smartinstall's first (the director's forms win where both
have one) and then every row of the installed ntc-templates' index, each naming its template by
absolute path (TextFSM joins the directory and the name, so an absolute name is kept as is).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "data" / "textfsm"
HEADER = "Template, Hostname, Platform, Command"


def ntc_templates_dir() -> Path | None:
    """The installed ntc-templates' template directory (None when it is not installed)."""
    spec = importlib.util.find_spec("ntc_templates")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "templates"
        if (candidate / "index").is_file():
            return candidate
    return None


def _rows(directory: Path) -> list[str]:
    """The rows of ``directory``'s index after its header, templates by absolute path."""
    rows: list[str] = []
    header_seen = False
    for line in (directory / "index").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not header_seen:
            header_seen = stripped.replace(" ", "") == HEADER.replace(" ", "")
            continue
        names, _, rest = line.partition(",")
        absolute = ":".join(str(directory / name.strip()) for name in names.split(":"))
        rows.append(f"{absolute},{rest}")
    return rows


def chained_index(ntc: Path | None) -> str:
    """The text of an index with smartinstall's rows, then ntc-templates' (when given)."""
    out = [
        "# smartinstall's TextFSM templates, then ntc-templates' (written by",
        "# `smartinstall textfsm-dir`); templates are named by absolute path.",
        "",
        HEADER,
        "",
        *_rows(TEMPLATES),
    ]
    if ntc is not None:
        out += ["", *_rows(ntc)]
    return "\n".join(out) + "\n"


def write_chained_dir(destination: Path, ntc: Path | None = None) -> Path:
    """Write ``destination/index`` (atomically) chaining smartinstall's templates to
    ntc-templates' (the installed ones unless ``ntc`` is given); returns ``destination``,
    the directory to put in ``NET_TEXTFSM``."""
    ntc = ntc if ntc is not None else ntc_templates_dir()
    if ntc is None:
        log.warning("ntc-templates is not installed: the index has smartinstall's rows only")
    destination.mkdir(parents=True, exist_ok=True)
    text = chained_index(ntc)
    fd, temporary = tempfile.mkstemp(dir=destination, prefix=".index.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, destination / "index")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination
