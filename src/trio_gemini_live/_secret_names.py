"""Which names (JSON keys, query parameters) hold a credential: one rule for every redaction.

A name is split into words at `-`, `_`, `.`, white space, digits and camelCase boundaries
(`Ocp-Apim-Subscription-Key` -> ocp apim subscription key, `apiKeyString` -> api key
string), compared without case. It is secret when a word is a credential's word:

    key(s), apikey(s), secret(s), token(s), password(s), passwd, passphrase, pwd, auth,
    authorization, credential(s), cookie(s), header(s), bearer, signature, sig, jwt,

or a word run together from one (`xgoogkey`, `accesstoken`, `clientsecret`), unless it is
one of the names that only mention one:

- a count: `...Tokens` after a count's word (`maxOutputTokens`, `triggerTokens`,
  `targetTokens`), or a name ending in `Count` (`tokenCount`, `promptTokenCount`);
- a key that is no credential: `sortKey`, `publicKey`, `primaryKey`, `partitionKey` (and
  the other words in `_PLAIN_KEYS`);
- a name that says what it holds is not the credential itself: its last word is `url`,
  `uri`, `type`, `name`, `count`, `enabled`, `file`, `path` or `text` (`authorizationUrl`,
  `tokenType`, `secretName`, `credentialsFile`, `headerText`).

`keyword`, `monkey`, `tokenizer` hold no credential's word and are shown. A name the rule
wrongly takes for a secret only hides a value; one it misses shows a credential, so when
in doubt a name is secret (`keyId`, `mayKey`).
"""

from __future__ import annotations

import functools
import re

__all__ = ["is_secret_name"]

_SECRET_WORDS = frozenset(
    {
        "key",
        "keys",
        "apikey",
        "apikeys",
        "secret",
        "secrets",
        "token",
        "tokens",
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "pwd",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "cookie",
        "cookies",
        "header",
        "headers",
        "bearer",
        "signature",
        "sig",
        "jwt",
    }
)
# A credential's word run together with others (`xgoogkey`, `githubtoken`); not a bare
# `...key`, which `monkey` and `hockey` end with.
_RUN_TOGETHER = re.compile(
    r".*(?:apikeys?|privatekey|accesskey|secretkey|googkey|tokens?|passwords?|passwd"
    r"|passphrase|secrets?|credentials?|cookies?|authorization|headers?)"
)
_COUNT_WORDS = frozenset(
    {
        "max",
        "maximum",
        "min",
        "minimum",
        "output",
        "input",
        "prompt",
        "total",
        "trigger",
        "target",
        "cached",
        "thoughts",
        "candidates",
        "response",
        "budget",
        "limit",
        "num",
        "number",
    }
)
_PLAIN_KEYS = frozenset({"sort", "public", "primary", "partition", "foreign", "order", "group"})
_DESCRIPTIONS = frozenset(
    {"url", "uri", "type", "name", "count", "enabled", "file", "path", "text"}
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")


def _words(name: str) -> list[str]:
    """`name`'s words, lower case: `apiKeyString` -> api key string, `X-API-Key` -> x api key."""
    return [word.lower() for word in _WORD.findall(name)]


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether the value under `name` is a credential, by the rule in the module docstring."""
    words = _words(name)
    if not any(word in _SECRET_WORDS or _RUN_TOGETHER.fullmatch(word) for word in words):
        return False
    last = words[-1]
    if last in _DESCRIPTIONS:
        return False
    if last == "tokens" and any(word in _COUNT_WORDS for word in words[:-1]):
        return False
    return not (last in ("key", "keys") and len(words) > 1 and words[-2] in _PLAIN_KEYS)
