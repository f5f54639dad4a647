"""The envelope every ``gluster --xml`` answer shares: ``<cliOutput>`` with
``opRet``/``opErrno``/``opErrstr``. ``opRet`` is checked before anything
else is read, because the CLI's exit code is 0 even on error.

Element access is strict: a required child that is missing, repeated or not
of its type is a :class:`GlusterXmlError`, never a default.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from adapters.gluster.errors import GlusterOpError, GlusterXmlError

MAX_DOCUMENT = 16 << 20


def parse_document(text: str, what: str) -> ET.Element:
    """The ``<cliOutput>`` root, after checking ``opRet`` is 0."""
    if len(text) > MAX_DOCUMENT:
        raise GlusterXmlError(f"{what}: document over {MAX_DOCUMENT} characters")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise GlusterXmlError(f"{what}: a DTD or entity declaration (refused)")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise GlusterXmlError(f"{what}: malformed XML ({exc})") from None
    if root.tag != "cliOutput":
        raise GlusterXmlError(f"{what}: root element <{root.tag}>, expected <cliOutput>")
    op_ret = integer(root, "opRet", what)
    if op_ret != 0:
        op_errno = integer(root, "opErrno", what) if root.find("opErrno") is not None else 0
        errstr = root.find("opErrstr")
        raise GlusterOpError(
            op_ret, op_errno, (errstr.text or "").strip() if errstr is not None else ""
        )
    return root


def child(parent: ET.Element, tag: str, what: str) -> ET.Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise GlusterXmlError(
            f"{what}: <{parent.tag}> has {len(found)} <{tag}> elements, expected exactly 1"
        )
    return found[0]


def text(parent: ET.Element, tag: str, what: str) -> str:
    value = (child(parent, tag, what).text or "").strip()
    if not value:
        raise GlusterXmlError(f"{what}: <{tag}> in <{parent.tag}> is empty")
    return value


def integer(parent: ET.Element, tag: str, what: str) -> int:
    raw = text(parent, tag, what)
    try:
        return int(raw, 10)
    except ValueError:
        raise GlusterXmlError(f"{what}: <{tag}> is {raw!r}, not an integer") from None


def count_or_dash(parent: ET.Element, tag: str, what: str) -> int | None:
    """A non-negative count, or None for the ``-`` a dead brick reports."""
    raw = text(parent, tag, what)
    if raw == "-":
        return None
    if not raw.isdigit():
        raise GlusterXmlError(f"{what}: <{tag}> is {raw!r}, neither a count nor '-'")
    return int(raw)
