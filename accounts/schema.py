"""OpenAPI description of the project's bearer authentication (SimpleJWT's scheme)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class GenerationJWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.JWTAuthentication"
