from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.LoginApi.as_view(), name="login"),
    path("login/mfa/", views.MFALoginApi.as_view(), name="login-mfa"),
    path("mfa/", views.MFAStatusApi.as_view(), name="mfa-status"),
    path("mfa/totp/", views.TOTPEnrolApi.as_view(), name="mfa-totp-enrol"),
    path("mfa/totp/confirm/", views.TOTPConfirmApi.as_view(), name="mfa-totp-confirm"),
    path("mfa/recovery-codes/", views.RecoveryCodesApi.as_view(), name="mfa-recovery-codes"),
    path("users/<int:pk>/mfa/reset/", views.UserMFAResetApi.as_view(), name="user-mfa-reset"),
    path("token/refresh/", views.TokenRefreshApi.as_view(), name="token-refresh"),
    path("logout/", views.LogoutApi.as_view(), name="logout"),
    # Web clients: the refresh cookie is scoped to /api/token/, so logout is also offered there.
    path("token/logout/", views.LogoutApi.as_view(), name="token-logout"),
    path("password/change/", views.PasswordChangeApi.as_view(), name="password-change"),
    path("protected/", views.ProtectedApi.as_view(), name="protected"),
    path("me/", views.MeApi.as_view(), name="me"),
]
