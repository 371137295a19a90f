"""Names that become file names, directory names or identifiers in generated code.

Ledger ids, finding ids and environment names are checked once, here, in full (a pattern
that must match the whole text, so no trailing newline slips through), and a name that
fails is a usage error (exit 2) that says what a good name looks like.
"""

from __future__ import annotations

import re

from harness.errors import HarnessUsageError

#: letters, digits, '.', '_', '+' and '-', starting with a letter or a digit, at most 100
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


def checked_name(text: object, what: str, example: str) -> str:
    """`text` when it is a safe name; else a usage error naming `what` it was meant to be."""
    if isinstance(text, str) and SAFE_NAME.fullmatch(text):
        return text
    raise HarnessUsageError(
        f"{what} {text!r} is not a usable name: use 1 to 100 letters, digits, '.', '_', '+' or '-', "
        f"starting with a letter or a digit (for example {example})"
    )


def identifier(name: str) -> str:
    """A Python identifier made from a safe name (generated test functions are named so)."""
    return re.sub(r"\W", "_", name)
