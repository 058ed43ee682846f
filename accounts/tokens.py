"""JWT pairs carrying the user's token generation, and the refresh-token blacklist helpers."""

from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

GENERATION_CLAIM = "gen"


class GenerationRefreshToken(RefreshToken):
    """A refresh token (and its access tokens) stamped with the user's current generation."""

    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[GENERATION_CLAIM] = user.token_generation
        return token


def token_pair(user) -> dict:
    """A new refresh token (recorded as outstanding) and its access token."""
    refresh = GenerationRefreshToken.for_user(user)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


def blacklist_all(user) -> int:
    """Blacklist every outstanding refresh token of a user; returns how many were still live."""
    live = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    rows = [BlacklistedToken(token=token) for token in live]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
