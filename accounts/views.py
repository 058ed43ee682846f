"""Authentication API: login (with a second factor), MFA enrolment, refresh, logout, password."""

from django.conf import settings
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import mfa, selectors, services
from accounts.models import User
from accounts.permissions import ALL_ROLES, PUBLIC, SUPER_ADMIN
from accounts.serializers import (
    LoginInputSerializer,
    LoginOutputSerializer,
    MeOutputSerializer,
    MeUpdateInputSerializer,
    MFAChallengeOutputSerializer,
    MFALoginInputSerializer,
    MFAStatusOutputSerializer,
    PasswordChangeInputSerializer,
    ProtectedOutputSerializer,
    RecoveryCodesOutputSerializer,
    RefreshInputSerializer,
    TokenPairSerializer,
    TOTPConfirmInputSerializer,
    TOTPConfirmOutputSerializer,
    TOTPEnrolmentOutputSerializer,
    UserSummarySerializer,
)
from accounts.tokens import token_has_mfa, token_pair
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


def _login_response(request, outcome: mfa.LoginOutcome, *, cookie: bool) -> Response:
    """Tokens for a completed login, or the challenge that waits for the second factor."""
    if outcome.challenge is not None:
        return Response({"mfa_required": True, "challenge": outcome.challenge})
    extra = {"user": UserSummarySerializer(outcome.user).data}
    if outcome.enrolment_required:
        extra["mfa_enrolment_required"] = True
    if outcome.user.password_change_required:
        extra["password_change_required"] = True
    if cookie:
        extra["csrf_token"] = get_token(request._request)
    return _pair_response(outcome.tokens, cookie=cookie, extra=extra)


LOGIN_RESULT = PolymorphicProxySerializer(
    component_name="LoginResult",
    serializers=[LoginOutputSerializer, MFAChallengeOutputSerializer],
    resource_type_field_name=None,
)


class LoginApi(APIView):
    """Exchange a username and password (form fields or JSON) for a token pair.

    An account with an authenticator (every staff account in production) gets a challenge instead,
    unless the code comes along as `otp`.
    """

    allowed_roles = PUBLIC
    authentication_classes = []

    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: LOGIN_RESULT,
            401: OpenApiResponse(description="Invalid credentials (same body for any cause)."),
            429: OpenApiResponse(description="Too many attempts; see Retry-After."),
        },
    )
    def post(self, request):
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = mfa.mfa_login(
            request=request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            otp=data.validated_data.get("otp", ""),
        )
        return _login_response(request, outcome, cookie=data.validated_data["cookie"])


class MFALoginApi(APIView):
    """Second login step: the challenge from /api/login/ and a code give the token pair."""

    allowed_roles = PUBLIC
    authentication_classes = []

    @extend_schema(
        request=MFALoginInputSerializer,
        responses={
            200: LoginOutputSerializer,
            401: OpenApiResponse(description="Wrong or reused code, unknown or expired challenge."),
            429: OpenApiResponse(description="Too many attempts; see Retry-After."),
        },
    )
    def post(self, request):
        data = MFALoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = mfa.mfa_login_verify(
            request=request,
            challenge=data.validated_data["challenge"],
            code=data.validated_data["code"],
        )
        return _login_response(request, outcome, cookie=data.validated_data["cookie"])


class MFAStatusApi(APIView):
    """One's second factor: enrolled or not, recovery codes left, required or not."""

    allowed_roles = ALL_ROLES
    allow_without_mfa = True
    # A staff member told to change their password may need to enrol first (production
    # requires the second factor for the password change itself).
    password_change_view = True

    @extend_schema(responses={200: MFAStatusOutputSerializer})
    def get(self, request):
        return Response(MFAStatusOutputSerializer(selectors.mfa_status(user=request.user)).data)


class TOTPEnrolApi(APIView):
    """Start enrolling an authenticator app: its otpauth:// URI and QR code (confirm next)."""

    allowed_roles = ALL_ROLES
    allow_without_mfa = True
    # A staff member told to change their password may need to enrol first (production
    # requires the second factor for the password change itself).
    password_change_view = True

    @extend_schema(
        request=None,
        responses={
            201: TOTPEnrolmentOutputSerializer,
            403: OpenApiResponse(
                description="Replacing an authenticator needs a code-verified login."
            ),
        },
    )
    def post(self, request):
        device = mfa.totp_enrol_start(user=request.user, verified=token_has_mfa(request.auth))
        uri = device.config_url
        return Response({"otpauth_uri": uri, "qr_svg": mfa.qr_code_svg(uri)}, status=201)


class TOTPConfirmApi(APIView):
    """Confirm the new authenticator with its first code: recovery codes and a new token pair."""

    allowed_roles = ALL_ROLES
    allow_without_mfa = True
    # A staff member told to change their password may need to enrol first (production
    # requires the second factor for the password change itself).
    password_change_view = True

    @extend_schema(
        request=TOTPConfirmInputSerializer,
        responses={
            200: TOTPConfirmOutputSerializer,
            400: OpenApiResponse(description="Wrong code, or no enrolment started."),
            429: OpenApiResponse(description="Too many attempts; see Retry-After."),
        },
    )
    def post(self, request):
        data = TOTPConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _, codes = mfa.totp_enrol_confirm(
            request=request, user=request.user, code=data.validated_data["code"]
        )
        cookie = data.validated_data["cookie"]
        extra = {"recovery_codes": codes}
        if cookie:
            extra["csrf_token"] = get_token(request._request)
        return _pair_response(token_pair(request.user, mfa=True), cookie=cookie, extra=extra)


class RecoveryCodesApi(APIView):
    """Replace one's recovery codes (the old ones stop working); shown once."""

    allowed_roles = ALL_ROLES

    @extend_schema(request=None, responses={201: RecoveryCodesOutputSerializer})
    def post(self, request):
        codes = mfa.recovery_codes_regenerate(
            user=request.user, verified=token_has_mfa(request.auth)
        )
        return Response({"recovery_codes": codes}, status=201)


class UserMFAResetApi(APIView):
    """Super-admins: remove another person's second factors (lost phone); their sessions end."""

    allowed_roles = SUPER_ADMIN

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="Devices removed, every session of the person ended."),
            400: OpenApiResponse(description="Not for oneself (code mfa_reset_self)."),
            404: OpenApiResponse(description="No such user."),
        },
    )
    def post(self, request, pk: int):
        person = get_object_or_404(User, pk=pk)
        mfa.mfa_reset(request=request, actor=request.user, user=person)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
