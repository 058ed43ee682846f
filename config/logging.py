"""Logging helpers: request lines without their query string (search values can be personal)."""

import logging
import re

_QUERY = re.compile(r"\?[^\s\"]*")


class StripQueryStringFilter(logging.Filter):
    """Drop the query string from the request line of the development server's access log."""

    def filter(self, record):
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY.sub("", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
