"""API tokens: random, shown once, stored as SHA-256 hashes.

Tokens are 256-bit random strings, so a plain (unsalted) hash is enough: it
cannot be reversed by guessing, and it lets a request be looked up by hash.
"""
import hashlib
import hmac
import re
import secrets

_HEADER = re.compile(r'^\s*Token\s+token="?([^"\s]+)"?\s*$', re.IGNORECASE)


def new_token():
    return secrets.token_urlsafe(32)


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_from_header(value):
    """``Authorization: Token token=<token>`` (AllGo's form; quotes allowed,
    as Rails writes them) -> the token, or None."""
    if not value:
        return None
    m = _HEADER.match(value)
    return m.group(1) if m else None


def same_hash(a, b):
    return hmac.compare_digest(a, b)
