"""JWT pairs carrying the user's token generation, and the refresh-token blacklist helpers."""

from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

GENERATION_CLAIM = "gen"
# Whether the login that started this token family passed a second factor.
MFA_CLAIM = "mfa"


class GenerationRefreshToken(RefreshToken):
    """A refresh token (and its access tokens) stamped with the user's current generation."""

    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.token_generation
        return token


def token_pair(user, *, mfa: bool = False) -> dict:
    """A new refresh token (recorded as outstanding) and its access token."""
    refresh = GenerationRefreshToken.for_user(user)
    refresh[MFA_CLAIM] = mfa
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


def token_has_mfa(token) -> bool:
    """Whether a validated token (or decoded payload) was issued after a second factor."""
    return bool(token is not None and token.get(MFA_CLAIM) is True)


def blacklist_all(user) -> int:
    """Blacklist every outstanding refresh token of a user; returns how many were still live."""
    live = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    rows = [BlacklistedToken(token=token) for token in live]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
