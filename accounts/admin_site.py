"""The admin site: password plus a second factor, and the page where staff enrol one."""

from django import forms
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import update_session_auth_hash
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp.admin import OTPAdminSite

from accounts import mfa, selectors
from config.exceptions import ApplicationError, Throttled


def _code_input(label: str) -> forms.CharField:
    """A one-time-code field: numeric keypad, filled by the phone's code autofill."""
    return forms.CharField(
        required=False,
        max_length=64,
        label=label,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "spellcheck": "false"}
        ),
    )


class AdminLoginForm(AdminAuthenticationForm):
    """Username, password and one code field: no device picker (the code's shape says which)."""

    otp_token = _code_input("Code")

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is not None:
            user.otp_device = None
            # Without an authenticator the session can only reach the enrolment page.
            if mfa.mfa_enabled(user):
                user.otp_device = self._verified_device(user)
        return cleaned

    def _verified_device(self, user):
        code = (self.cleaned_data.get("otp_token") or "").strip()
        if not code:
            raise forms.ValidationError("Enter the code from your authenticator app.", code="otp")
        try:
            return mfa.mfa_verify_code(request=self.request, user=user, code=code)
        except Throttled as exc:
            raise forms.ValidationError("Too many attempts. Try again later.", code="otp") from exc
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message, code="otp") from exc


class EnrolmentForm(forms.Form):
    code = _code_input("Code shown by the app")


class AdminSite(OTPAdminSite):
    """django-otp's admin site (staff must be verified by a device), with enrolment."""

    site_header = "ECAR administration"
    site_title = "ECAR admin"
    login_form = AdminLoginForm
    login_template = "accounts/admin/login.html"

    def each_context(self, request):
        context = super().each_context(request)
        if not self.has_permission(request):
            # Signed in by password only (enrolling): no menu of the admin's models.
            context.update(available_apps=[], is_nav_sidebar_enabled=False)
        return context

    def get_urls(self):
        return [
            path("mfa/", self._enrolment_view(self.mfa_view), name="mfa"),
            path("mfa/qr.svg", self._enrolment_view(self.mfa_qr_view), name="mfa_qr"),
            *super().get_urls(),
        ]

    def _needs_enrolment(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and not mfa.mfa_enabled(user)

    def login(self, request, extra_context=None):
        if request.method == "GET" and self._needs_enrolment(request):
            return HttpResponseRedirect(reverse("admin:mfa", current_app=self.name))
        return super().login(request, extra_context)

    def _enrolment_view(self, view):
        """Verified staff, or staff signed in by password who have no authenticator yet."""

        def inner(request, *args, **kwargs):
            if not (self.has_permission(request) or self._needs_enrolment(request)):
                return HttpResponseRedirect(
                    f"{reverse('admin:login', current_app=self.name)}?next={request.path}"
                )
            return view(request, *args, **kwargs)

        return csrf_protect(never_cache(inner))

    def mfa_view(self, request):
        """Status, enrolment of an authenticator (QR code, first code) and recovery codes."""
        user = request.user
        verified = user.is_verified()
        form = EnrolmentForm(request.POST if request.POST.get("action") == "confirm" else None)
        codes = None
        try:
            if request.method == "POST" and request.POST.get("action") == "start":
                mfa.totp_enrol_start(user=user, verified=verified)
            elif request.method == "POST" and request.POST.get("action") == "recovery":
                codes = mfa.recovery_codes_regenerate(user=user, verified=verified)
            elif form.is_valid():
                device, codes = mfa.totp_enrol_confirm(
                    request=request, user=user, code=form.cleaned_data["code"]
                )
                otp_login(request, device)
                # Confirming ended every earlier session, this one included: keep this one.
                update_session_auth_hash(request, user)
        except Throttled:
            form.add_error("code", "Too many attempts. Try again later.")
        except ApplicationError as exc:
            if form.is_bound:
                form.add_error("code", exc.message)
            else:
                messages.error(request, exc.message)
        pending = None if codes else mfa.totp_pending(user)
        context = {
            **self.each_context(request),
            "title": "Two-factor authentication",
            "status": selectors.mfa_status(user=user),
            "verified": user.is_verified(),
            "recovery_codes": codes,
            "form": form,
            "pending_uri": pending.config_url if pending else None,
        }
        return TemplateResponse(request, "accounts/admin/mfa.html", context)

    def mfa_qr_view(self, request):
        """The QR code of the caller's pending authenticator (an image of the page's own origin)."""
        pending = mfa.totp_pending(request.user)
        if pending is None:
            raise Http404("No authenticator is waiting for its first code.")
        return HttpResponse(mfa.qr_code_svg(pending.config_url), content_type="image/svg+xml")
