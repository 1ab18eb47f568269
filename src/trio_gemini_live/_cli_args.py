"""Argument parsing that never shows a credential: shared by `gemini-live` and its emulator.

argparse quotes arguments in its errors: an unknown option's value ("unrecognized
arguments: --api_key KEY"), a value taken for the command ("invalid choice: 'KEY'"), an
ambiguous `--ap=KEY`. The parser here hides the values of credential-like options and the
secrets of any URL among the arguments (`--url ws://host/?key=KEY` before the command is
"invalid choice: 'ws://...'"), and callers name unknown options without their values
(`unknown_names`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import NoReturn

from ._endpoints import redact_secrets, redact_url

__all__ = [
    "KEY_OPTION",
    "SanitisingParser",
    "is_key_abbreviation",
    "is_secret_option",
    "secret_urls",
    "secret_values",
    "unknown_names",
]

KEY_OPTION = "--api-key"
HIDDEN = "<hidden>"

# An option whose value is (or looks like) a credential: `--api-key`, and the misspellings
# and guesses argparse does not know (`--api_key`, `--key`, `--token`, `--access-token`).
_SECRET_OPTION_RE = re.compile(r"--?[a-z_-]*(key|token)", re.IGNORECASE)


class SanitisingParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose error messages never show a credential given to it.

    `hidden` holds the values of credential-like options in the command line (the caller
    sets it from `secret_values`); each is replaced by `<hidden>` in any message, by the
    rule of `redact_secrets` (a short value only where it stands alone, so that a key "e"
    leaves "argument --timeout" readable). `urls` holds the arguments that `redact_url`
    changes (`secret_urls`): each is shown as `redact_url` shows it, wherever it is quoted.
    """

    hidden: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

    def hide(self, argv: Sequence[str]) -> None:
        """Hide the credentials in `argv` from every message of this parser."""
        self.hidden = secret_values(argv)
        self.urls = secret_urls(argv)

    def error(self, message: str) -> NoReturn:
        for url in self.urls:
            # As given and as argparse quotes it (`%r`: a quote or backslash is escaped).
            message = redact_secrets(message, {url, repr(url)[1:-1]}, redact_url(url))
        super().error(redact_secrets(message, self.hidden, HIDDEN))


def is_key_abbreviation(name: str) -> bool:
    """Whether argparse could take option `name` for `--api-key`.

    argparse accepts any unique prefix of a long option (`--a`, `--ap`, `--api-k`) and
    quotes an ambiguous one with its value (`--ap=KEY could match --api-key, ...`).
    """
    return len(name) > len("--") and KEY_OPTION.startswith(name)


def is_secret_option(name: str) -> bool:
    """Whether an option's value is (or looks like) a credential."""
    return bool(_SECRET_OPTION_RE.fullmatch(name)) or is_key_abbreviation(name)


def secret_values(argv: Sequence[str]) -> tuple[str, ...]:
    """The values given to credential-like options (`--api-key KEY`, `--api_key=KEY`)."""
    values: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        name, equals, value = arg.partition("=")
        if not is_secret_option(name):
            continue
        if equals:
            values.append(value)
        elif index + 1 < len(argv):
            values.append(argv[index + 1])
    # Longest first: a key that contains another is replaced whole.
    return tuple(sorted((value for value in values if value), key=len, reverse=True))


def secret_urls(argv: Sequence[str]) -> tuple[str, ...]:
    """The arguments holding a URL with a secret in it (`ws://host/?key=KEY`), longest first.

    Any argument, whatever option it follows: argparse may quote a URL given in the wrong
    place as something else (the command, an option's value of the wrong type).
    """
    # `--option=VALUE`: argparse quotes the value alone, so the value is what must be found.
    values = [arg.partition("=")[2] if arg.startswith("-") else arg for arg in argv]
    found = {text for text in (*argv, *values) if text and redact_url(text) != text}
    return tuple(sorted(found, key=len, reverse=True))


def unknown_names(unknown: Sequence[str]) -> str:
    """The unrecognized options, by name only: what follows one may be its value, a key."""
    names = [arg.partition("=")[0] for arg in unknown if arg.startswith("-") and arg != "-"]
    others = len(unknown) - len(names)
    text = " ".join(names)
    if others:
        noun = "argument" if others == 1 else "arguments"
        text = (
            f"{text} (and {others} other {noun}, not shown)"
            if text
            else f"{others} {noun} (not shown)"
        )
    return text
