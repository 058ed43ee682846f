"""Bearer-token authentication that also honours revocation by token generation."""

from functools import lru_cache

from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.tokens import GENERATION_CLAIM


@lru_cache(maxsize=1024)
def _verified(raw_token: bytes) -> AccessToken:
    """The access token, verified by SimpleJWT (signature, type, claims) once per token string.

    A client sends the same token with every request for its hour: checking its HMAC and
    decoding its JSON again each time was about a tenth of a small request. Only tokens that
    verified are kept (an exception is not cached), and their expiry is checked on every use.
    """
    return AccessToken(raw_token)


class JWTAuthentication(authentication.JWTAuthentication):
    """SimpleJWT's access-token check, plus: the token's generation must be the user's current one.

    Logout, password change, deactivation and incident containment bump the user's generation,
    which ends every access token issued before at once instead of when it expires. The user row
    is loaded on every request anyway, so the check costs no extra query.
    """

    def get_validated_token(self, raw_token):
        """The access token, refused as `token_expired` (refresh it) or `token_invalid` (log in)."""
        try:
            token = _verified(raw_token)
        except ExpiredTokenError as exc:
            raise AuthenticationFailed("Access token has expired.", code="token_expired") from exc
        except TokenError as exc:
            raise AuthenticationFailed("Access token is invalid.", code="token_invalid") from exc
        try:
            token.check_exp(current_time=aware_utcnow())
        except TokenError as exc:
            raise AuthenticationFailed("Access token has expired.", code="token_expired") from exc
        return token

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if validated_token.get(GENERATION_CLAIM) != user.token_generation:
            raise AuthenticationFailed("Token has been revoked.", code="token_revoked")
        return user
