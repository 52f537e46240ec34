"""Coverage-guided fuzzing of the SMI decoders with atheris (run on demand, not by pytest).

    .venv/bin/pip install atheris
    mkdir -p /tmp/smi-corpus && cp tests/corpus/smi/*.bin /tmp/smi-corpus/
    .venv/bin/python tests/corpus/smi/fuzz_atheris.py /tmp/smi-corpus -max_total_time=60

Starts from the saved corpus; any exception other than SmiDecodeError is a bug (atheris stops
and writes the input as crash-*). Interesting inputs found are worth adding to
tests/corpus/smi/make_corpus.py so the unit tests keep them.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from smartinstall.wire import smi_auth
    from smartinstall.wire.smi import (
        INIT_DISCOVERY_LIMITS,
        SmiDecodeError,
        decode_command_bytes,
        decode_tlvs,
    )
    from smartinstall.wire.smi_client import decode_client_message


def one_input(data: bytes) -> None:
    for decode in (
        decode_command_bytes,
        decode_client_message,
        lambda b: decode_tlvs(b, INIT_DISCOVERY_LIMITS),
        lambda b: smi_auth.unseal(b, b"fuzzing-key-0001"),
    ):
        with contextlib.suppress(SmiDecodeError):
            decode(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
