"""Request parsers for the API: JSON with a bounded nesting depth."""

import json
import re

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# JSON strings may hold brackets: they are cut out before the brackets are counted.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_SQUARE = str.maketrans("{}", "[]")


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether a JSON text nests arrays/objects deeper than `limit`, found without recursion.

    Each round deletes the innermost empty pairs, so a text at most `limit` deep is empty after
    `limit` rounds; a run of `limit + 1` openings is too deep at once. C string operations only:
    linear per round, whatever the shape.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).translate(_SQUARE)
    too_deep = "[" * (limit + 1)
    for _ in range(limit):
        if too_deep in brackets:
            return True
        shorter = brackets.replace("[]", "")
        if len(shorter) == len(brackets):
            return False  # unbalanced: the decoder reports where
        brackets = shorter
    return bool(brackets)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing deep nesting and undecodable bodies with `invalid_json`.

    Python's decoder recurses once per level: a body nested thousands of levels deep would
    raise RecursionError (a 500 and a traceback per request) instead of a plain 400.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)  # text encodings only: hex or zlib give no str
        except (UnicodeDecodeError, LookupError) as exc:
            detail = f"The body is not valid {encoding} text."
            raise ParseError(detail, code="invalid_json") from exc
        limit = settings.API_JSON_MAX_DEPTH
        if nesting_exceeds(text, limit):
            raise ParseError(f"JSON nested deeper than {limit} levels.", code="invalid_json")
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}", code="invalid_json") from exc


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")
