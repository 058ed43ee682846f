"""Bearer-token authentication that also honours revocation by token generation."""

from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tokens import GENERATION_CLAIM


class JWTAuthentication(authentication.JWTAuthentication):
    """SimpleJWT's access-token check, plus: the token's generation must be the user's current one.

    Logout, password change, deactivation and incident containment bump the user's generation,
    which ends every access token issued before at once instead of when it expires. The user row
    is loaded on every request anyway, so the check costs no extra query.
    """

    def get_validated_token(self, raw_token):
        """The access token, refused as `token_expired` (refresh it) or `token_invalid` (log in)."""
        try:
            return AccessToken(raw_token)
        except ExpiredTokenError as exc:
            raise AuthenticationFailed("Access token has expired.", code="token_expired") from exc
        except TokenError as exc:
            raise AuthenticationFailed("Access token is invalid.", code="token_invalid") from exc

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if validated_token.get(GENERATION_CLAIM) != user.token_generation:
            raise AuthenticationFailed("Token has been revoked.", code="token_revoked")
        return user
