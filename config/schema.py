"""OpenAPI post-processing: the error answers every operation can give, and closed responses."""

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error: a message, a machine-readable code, field errors if any.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["detail", "code"],
    "additionalProperties": False,
}
DESCRIPTIONS = {
    400: "Invalid input (body, filter or page size): `errors` holds the field errors.",
    401: "Missing, invalid, expired or revoked bearer token.",
    403: "Your role does not allow this action.",
    404: "No such object among those you may see (or no such page).",
    415: "The request body's media type is not one the operation accepts.",
    429: "Too many requests; see Retry-After.",
    503: "The database or the cache is unavailable; see Retry-After.",
}


def _errors_for(operation: dict, path: str) -> list[int]:
    """The error statuses an operation can answer besides its own documented ones."""
    codes = [429, 503]  # the reverse proxy's rate limits and an outage apply to every operation
    if any("jwtAuth" in requirement for requirement in operation.get("security", [])):
        codes += [401, 403]
    parameters = {parameter["in"] for parameter in operation.get("parameters", [])}
    if "query" in parameters or "requestBody" in operation:
        codes.append(400)
    if "requestBody" in operation:
        codes.append(415)
    if "{" in path or any(p["name"] == "page" for p in operation.get("parameters", [])):
        codes.append(404)
    return sorted(codes)


def document_error_responses(result, generator, request, public):
    """Give every operation its possible error statuses, each with the one error body."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code in _errors_for(operation, path):
                responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
            for code, response in responses.items():
                if int(code) >= 400 and "content" not in response:
                    response["content"] = {"application/json": {"schema": ERROR_REF}}
    return result


def close_response_objects(result, generator, request, public):
    """Response objects have exactly their documented properties.

    An undocumented key in a response is then a schema failure (a field leaking out), and the
    per-role variants of a `oneOf` (an order, a part) exclude each other.
    """
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") or "properties" not in schema:
            continue
        schema.setdefault("additionalProperties", False)
    return result
