"""The development server's access log never carries query strings (search values)."""

import logging

from config.logging import StripQueryStringFilter


def test_query_strings_are_removed_from_request_lines():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /api/customers/?phone=%2B21622333444&email=a%40b.tn HTTP/1.1", "200", "12"),
        None,
    )

    assert StripQueryStringFilter().filter(record) is True
    assert record.getMessage() == '"GET /api/customers/ HTTP/1.1" 200 12'
