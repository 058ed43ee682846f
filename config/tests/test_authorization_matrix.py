"""Authorisation matrix: every operation of the OpenAPI schema, for every role, on own and
other objects.

TABLE holds the status each role gets, with an empty JSON body and no query string, on the
world's objects (config/tests/world.py): one column per role (anonymous, customer, technician,
super-admin); on an operation with ids in its path, each signed-in role has an "own/other"
pair. "Own" is the first customer's object (the order assigned to the first technician),
"other" the second customer's. 400 means the role got past authorisation to input validation,
404 that the object is outside the role's scope (customers never see draft credit notes).

An operation in the schema but not in the table fails `test_every_operation_is_in_the_table`:
a new endpoint needs its row, i.e. a decision about who may call it.
"""

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from config.tests.world import ROLES, path_kinds

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = sorted(
    f"{method.upper()} {path}" for path, item in SCHEMA["paths"].items() for method in item
)
TABLE = """
operation                                                anonymous  customer   technician admin
DELETE /api/credit-notes/{id}/                           401        403/403    403/403    204/204
DELETE /api/invoices/{id}/                               401        403/403    403/403    400/400
DELETE /api/invoices/{id}/lines/{line_pk}/               401        403/403    403/403    400/400
DELETE /api/vehicles/{vehicle_pk}/documents/{id}/        401        204/404    403/403    204/204
GET /api/alerts/                                         401        403        403        200
GET /api/alerts/{id}/                                    401        403/403    403/403    200/200
GET /api/appointments/                                   401        200        403        200
GET /api/appointments/availability/                      401        400        400        400
GET /api/appointments/{id}/                              401        200/404    403/403    200/200
GET /api/credit-notes/                                   401        200        403        200
GET /api/credit-notes/{id}/                              401        404/404    403/403    200/200
GET /api/credit-notes/{id}/pdf/                          401        404/404    403/403    400/400
GET /api/credit-notes/{id}/teif/                         401        403/403    403/403    400/400
GET /api/customers/                                      401        200        403        200
GET /api/customers/{id}/                                 401        200/404    403/403    200/200
GET /api/download_user_data/                             401        200        200        200
GET /api/health/                                         200        200        200        200
GET /api/incidents/                                      401        403        403        200
GET /api/incidents/{id}/                                 401        403/403    403/403    200/200
GET /api/incidents/{id}/affected/                        401        403/403    403/403    200/200
GET /api/incidents/{id}/report/                          401        403/403    403/403    200/200
GET /api/incidents/{id}/timeline/                        401        403/403    403/403    200/200
GET /api/invoices/                                       401        200        403        200
GET /api/invoices/summary/                               401        403        403        400
GET /api/invoices/teif-export/                           401        403        403        400
GET /api/invoices/{id}/                                  401        200/404    403/403    200/200
GET /api/invoices/{id}/payments/                         401        200/404    403/403    200/200
GET /api/invoices/{id}/pdf/                              401        200/404    403/403    200/200
GET /api/invoices/{id}/teif/                             401        403/403    403/403    400/400
GET /api/me/                                             401        200        200        200
GET /api/me/access-log/                                  401        200        200        200
GET /api/me/consents/                                    401        200        200        200
GET /api/mfa/                                            401        200        200        200
GET /api/parts/                                          401        403        200        200
GET /api/parts/low-stock/                                401        403        200        200
GET /api/parts/{id}/                                     401        403/403    200/404    200/200
GET /api/parts/{id}/movements/                           401        403/403    403/403    200/200
GET /api/payments/                                       401        200        403        200
GET /api/payments/{id}/                                  401        200/404    403/403    200/200
GET /api/privacy-notice/                                 200        200        200        200
GET /api/protected/                                      401        200        200        200
GET /api/service-orders/                                 401        200        200        200
GET /api/service-orders/{id}/                            401        200/404    200/404    200/200
GET /api/services/                                       401        200        200        200
GET /api/services/{id}/                                  401        200/404    200/404    200/200
GET /api/users/{id}/export/                              401        403/403    403/403    200/200
GET /api/vehicles/                                       401        200        403        200
GET /api/vehicles/{id}/                                  401        200/404    403/403    200/200
GET /api/vehicles/{id}/history/                          401        200/404    403/403    200/200
GET /api/vehicles/{vehicle_pk}/documents/                401        200/404    403/403    200/200
GET /api/vehicles/{vehicle_pk}/documents/{id}/download/  401        200/404    403/403    200/200
GET /api/vehicles/{vehicle_pk}/odometer/                 401        200/404    403/403    200/200
PATCH /api/customers/{id}/                               401        200/404    403/403    200/200
PATCH /api/invoices/{id}/                                401        403/403    403/403    400/400
PATCH /api/invoices/{id}/lines/{line_pk}/                401        403/403    403/403    400/400
PATCH /api/me/                                           401        200        200        200
PATCH /api/parts/{id}/                                   401        403/403    403/403    200/200
PATCH /api/service-orders/{id}/labour-lines/{line_pk}/   401        403/403    400/400    400/400
PATCH /api/services/{id}/                                401        403/403    403/403    200/200
PATCH /api/vehicles/{id}/                                401        200/404    403/403    200/200
POST /api/alerts/{id}/acknowledge/                       401        403/403    403/403    200/200
POST /api/alerts/{id}/close/                             401        403/403    403/403    200/200
POST /api/alerts/{id}/open-incident/                     401        403/403    403/403    201/201
POST /api/appointments/                                  401        400        403        400
POST /api/appointments/{id}/cancel/                      401        200/404    403/403    200/200
POST /api/appointments/{id}/check-in/                    401        403/403    403/403    400/400
POST /api/appointments/{id}/confirm/                     401        403/403    403/403    200/200
POST /api/appointments/{id}/no-show/                     401        403/403    403/403    400/400
POST /api/credit-notes/                                  401        403        403        400
POST /api/credit-notes/{id}/issue/                       401        403/403    403/403    400/400
POST /api/credit-notes/{id}/teif/answer/                 401        403/403    403/403    400/400
POST /api/credit-notes/{id}/teif/export/                 401        403/403    403/403    400/400
POST /api/credit-notes/{id}/teif/submitted/              401        403/403    403/403    400/400
POST /api/csp-report/                                    204        204        204        204
POST /api/customers/                                     401        403        403        400
POST /api/customers/search/                              401        400        403        400
POST /api/delete_user_data/                              401        200        200        400
POST /api/incidents/                                     401        403        403        400
POST /api/incidents/{id}/block-network/                  401        403/403    403/403    400/400
POST /api/incidents/{id}/close/                          401        403/403    403/403    200/200
POST /api/incidents/{id}/disable-accounts/               401        403/403    403/403    400/400
POST /api/incidents/{id}/force-password-change/          401        403/403    403/403    400/400
POST /api/incidents/{id}/notify/                         401        403/403    403/403    400/400
POST /api/incidents/{id}/revoke-sessions/                401        403/403    403/403    400/400
POST /api/incidents/{id}/rotate-keys/                    401        403/403    403/403    200/200
POST /api/invoices/                                      401        403        403        400
POST /api/invoices/{id}/issue/                           401        403/403    403/403    400/400
POST /api/invoices/{id}/lines/                           401        403/403    403/403    400/400
POST /api/invoices/{id}/payments/                        401        403/403    403/403    400/400
POST /api/invoices/{id}/teif/answer/                     401        403/403    403/403    400/400
POST /api/invoices/{id}/teif/export/                     401        403/403    403/403    400/400
POST /api/invoices/{id}/teif/submitted/                  401        403/403    403/403    400/400
POST /api/login/                                         400        400        400        400
POST /api/login/mfa/                                     400        400        400        400
POST /api/logout/                                        400        400        400        400
POST /api/me/consents/                                   401        400        400        400
POST /api/mfa/recovery-codes/                            401        403        403        403
POST /api/mfa/totp/                                      401        201        201        201
POST /api/mfa/totp/confirm/                              401        400        400        400
POST /api/parts/                                         401        403        403        400
POST /api/parts/{id}/movements/                          401        403/403    403/403    400/400
POST /api/password/change/                               401        400        400        400
POST /api/service-orders/                                401        403        403        400
POST /api/service-orders/{id}/approve/                   401        400/404    403/403    400/400
POST /api/service-orders/{id}/assign/                    401        403/403    403/403    400/400
POST /api/service-orders/{id}/cancel/                    401        403/403    403/403    200/200
POST /api/service-orders/{id}/complete/                  401        403/403    200/404    200/200
POST /api/service-orders/{id}/decline/                   401        400/404    403/403    403/403
POST /api/service-orders/{id}/deliver/                   401        403/403    403/403    400/400
POST /api/service-orders/{id}/labour-lines/              401        403/403    400/400    400/400
POST /api/service-orders/{id}/lines/decide/              401        400/400    403/403    400/400
POST /api/service-orders/{id}/notes/                     401        403/403    400/400    400/400
POST /api/service-orders/{id}/part-lines/                401        403/403    400/400    400/400
POST /api/service-orders/{id}/resume/                    401        403/403    400/404    400/400
POST /api/service-orders/{id}/send-estimate/             401        403/403    403/403    400/400
POST /api/service-orders/{id}/start/                     401        403/403    400/404    400/400
POST /api/service-orders/{id}/wait-parts/                401        403/403    200/404    200/200
POST /api/services/                                      401        403        403        400
POST /api/token/logout/                                  400        400        400        400
POST /api/token/refresh/                                 400        400        400        400
POST /api/users/{id}/erase/                              401        403/403    403/403    200/200
POST /api/users/{id}/mfa/reset/                          401        403/403    403/403    204/204
POST /api/vehicles/                                      401        400        403        400
POST /api/vehicles/search/                               401        400        403        400
POST /api/vehicles/{vehicle_pk}/documents/               401        415/404    403/403    415/415
POST /api/vehicles/{vehicle_pk}/odometer/                401        400/404    403/403    400/400
"""


def _parse(table: str) -> dict:
    """{operation: (anonymous, customer, technician, super-admin)}; "own/other" as a pair."""
    expected = {}
    for line in table.strip().splitlines()[1:]:
        method, path, *cells = line.split()
        expected[f"{method} {path}"] = tuple(
            tuple(int(s) for s in cell.split("/")) if "/" in cell else int(cell) for cell in cells
        )
    return expected


EXPECTED = _parse(TABLE)


def _cases():
    for operation, statuses in EXPECTED.items():
        for role, expected in zip(ROLES, statuses, strict=True):
            if isinstance(expected, tuple):
                for scope, status in zip(("own", "other"), expected, strict=True):
                    yield pytest.param(
                        operation, role, scope, status, id=f"{operation}|{role}|{scope}"
                    )
            else:
                yield pytest.param(operation, role, "own", expected, id=f"{operation}|{role}")


def send(client, world, operation: str, role: str, scope: str):
    """Call an operation as a role on its own or other objects: empty JSON body, no query."""
    method, path = operation.split(" ", 1)
    url = path
    for name, kind in path_kinds(path).items():
        url = url.replace("{" + name + "}", str(world.ids[kind][scope]))
    headers = {}
    if role in world.tokens:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[role]}"
    call = getattr(client, method.lower())
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        return call(url, data="{}", content_type="application/json", **headers)
    return call(url, **headers)


def test_every_operation_is_in_the_table():
    assert sorted(EXPECTED) == OPERATIONS


def test_the_table_is_large_enough():
    assert len(list(_cases())) >= 300


@pytest.mark.parametrize(("operation", "role", "scope", "expected"), list(_cases()))
def test_authorization(world, db, operation, role, scope, expected):
    response = send(Client(), world, operation, role, scope)

    assert response.status_code == expected, response.content[:300]
    if response.status_code >= 400:
        assert response.json()["code"]
