from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.LoginApi.as_view(), name="login"),
    path("token/refresh/", views.TokenRefreshApi.as_view(), name="token-refresh"),
    path("logout/", views.LogoutApi.as_view(), name="logout"),
    # Web clients: the refresh cookie is scoped to /api/token/, so logout is also offered there.
    path("token/logout/", views.LogoutApi.as_view(), name="token-logout"),
    path("password/change/", views.PasswordChangeApi.as_view(), name="password-change"),
    path("protected/", views.ProtectedApi.as_view(), name="protected"),
    path("me/", views.MeApi.as_view(), name="me"),
]
