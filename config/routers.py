"""The API's router: object ids in URLs are integers, so anything else is a 404, never a 500."""

from rest_framework.routers import SimpleRouter


class IdRouter(SimpleRouter):
    """SimpleRouter whose default lookup matches integer ids only (that fit a bigint)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._default_value_pattern = "[0-9]{1,18}" if self._use_regex else "int"
