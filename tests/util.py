"""Small helpers shared by several test modules."""

from __future__ import annotations


def forge(token: str) -> str:
    """``token`` with one character of its signature changed, so it no longer verifies.

    Not the last character: in unpadded base64 its low bits are padding, so some changes
    there decode to the same bytes and the "forged" token would still be valid.
    """
    c = token[-5]
    return token[:-5] + ("A" if c != "A" else "B") + token[-4:]
