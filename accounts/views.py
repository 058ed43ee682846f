"""Authentication API: login, refresh, logout, password change and the protected probe."""

from django.conf import settings
from django.middleware.csrf import get_token
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.permissions import ALL_ROLES, PUBLIC
from accounts.serializers import (
    LoginInputSerializer,
    LoginOutputSerializer,
    MeOutputSerializer,
    MeUpdateInputSerializer,
    PasswordChangeInputSerializer,
    ProtectedOutputSerializer,
    RefreshInputSerializer,
    TokenPairSerializer,
    UserSummarySerializer,
)
from config.exceptions import ApplicationError


def _enforce_csrf(request) -> None:
    """A refresh token from a cookie is ambient authority: require the CSRF token with it."""
    check = CSRFCheck(lambda req: None)
    check.process_request(request._request)
    reason = check.process_view(request._request, None, (), {})
    if reason:
        raise PermissionDenied(f"CSRF failed: {reason}")


def _refresh_from(request) -> tuple[str, bool]:
    """The refresh token of a request (body first, then cookie) and whether it came by cookie."""
    data = RefreshInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    if data.validated_data.get("refresh"):
        return data.validated_data["refresh"], False
    cookie = request.COOKIES.get(settings.REFRESH_COOKIE_NAME)
    if not cookie:
        raise ApplicationError(
            "A refresh token is required.",
            code="required",
            extra={"refresh": ["This field is required."]},
        )
    _enforce_csrf(request)
    return cookie, True


def _pair_response(tokens: dict, *, cookie: bool, extra=None, status_code=200) -> Response:
    """Render a token pair; in cookie mode the refresh token goes only into the HttpOnly cookie."""
    body = {"access": tokens["access"], "refresh": None if cookie else tokens["refresh"]}
    response = Response({**body, **(extra or {})}, status=status_code)
    if cookie:
        response.set_cookie(value=tokens["refresh"], **services.refresh_cookie_settings())
    return response


class LoginApi(APIView):
    """Exchange a username and password (form fields or JSON) for a token pair."""

    allowed_roles = PUBLIC
    authentication_classes = []

    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: LoginOutputSerializer,
            401: OpenApiResponse(description="Invalid credentials (same body for any cause)."),
            429: OpenApiResponse(description="Too many attempts; see Retry-After."),
        },
    )
    def post(self, request):
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, tokens = services.auth_login(
            request=request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        cookie = data.validated_data["cookie"]
        extra = {"user": UserSummarySerializer(user).data}
        if user.password_change_required:
            extra["password_change_required"] = True
        if cookie:
            extra["csrf_token"] = get_token(request._request)
        return _pair_response(tokens, cookie=cookie, extra=extra)


class TokenRefreshApi(APIView):
    """Rotate a refresh token (body or cookie): the old one is blacklisted, a new pair issued."""

    allowed_roles = PUBLIC
    authentication_classes = []

    @extend_schema(
        request=RefreshInputSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(description="Invalid, expired or reused refresh token."),
        },
    )
    def post(self, request):
        raw, cookie = _refresh_from(request)
        tokens = services.token_refresh(request=request, raw_token=raw)
        return _pair_response(tokens, cookie=cookie)


class LogoutApi(APIView):
    """Blacklist a refresh token (body or cookie) and end the user's access tokens."""

    allowed_roles = PUBLIC
    authentication_classes = []

    @extend_schema(
        request=RefreshInputSerializer,
        responses={
            204: OpenApiResponse(description="Signed out."),
            401: OpenApiResponse(description="Invalid or expired refresh token."),
        },
    )
    def post(self, request):
        raw, cookie = _refresh_from(request)
        services.auth_logout(request=request, raw_token=raw)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if cookie:
            response.delete_cookie(
                settings.REFRESH_COOKIE_NAME, path=settings.REFRESH_COOKIE_PATH, samesite="Strict"
            )
        return response


class PasswordChangeApi(APIView):
    """Change one's password: every other session ends, a new token pair is returned."""

    allowed_roles = ALL_ROLES
    password_change_view = True

    @extend_schema(request=PasswordChangeInputSerializer, responses={200: TokenPairSerializer})
    def post(self, request):
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = services.password_change(
            request=request,
            user=request.user,
            current_password=data.validated_data["current_password"],
            new_password=data.validated_data["new_password"],
        )
        return _pair_response(tokens, cookie=data.validated_data["cookie"])


class ProtectedApi(APIView):
    """Who am I: the caller's id, username and role."""

    allowed_roles = ALL_ROLES

    @extend_schema(responses={200: ProtectedOutputSerializer})
    def get(self, request):
        return Response(ProtectedOutputSerializer(request.user).data)


class MeApi(APIView):
    """Read and update one's own contact details."""

    allowed_roles = ALL_ROLES

    @extend_schema(responses={200: MeOutputSerializer})
    def get(self, request):
        return Response(MeOutputSerializer(selectors.profile_get(user=request.user)).data)

    @extend_schema(request=MeUpdateInputSerializer, responses={200: MeOutputSerializer})
    def patch(self, request):
        data = MeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = dict(data.validated_data)
        current_password = contact.pop("current_password", None)
        profile = services.profile_update(
            request=request, user=request.user, contact=contact, current_password=current_password
        )
        return Response(MeOutputSerializer(profile).data)
