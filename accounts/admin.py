"""Admin for accounts (the admin site itself requires a second factor: see accounts.admin_site)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError

from accounts import mfa, selectors, services
from accounts.models import AuthEvent, Profile, User
from config.exceptions import ApplicationError
from privacy.admin import AccessRecordedAdmin
from privacy.normalise import normalise_phone


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("username", "role")


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = (
            "username",
            "role",
            "is_active",
            "password_change_required",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("full_name", "email", "phone", "address")

    def clean_email(self):
        return (self.cleaned_data.get("email") or "").strip() or None

    def clean_phone(self):
        phone = (self.cleaned_data.get("phone") or "").strip()
        return normalise_phone(phone) if phone else None


class ProfileInline(admin.StackedInline):
    """Contact details, decrypted for the super-admin (stored encrypted)."""

    model = Profile
    form = ProfileForm
    fields = ("full_name", "email", "phone", "address")
    can_delete = False
    extra = 0


def _blind_search(term: str):
    """User ids whose exact e-mail or phone is `term` (through the blind indexes)."""
    term = term.strip()
    if "@" in term:
        return Profile.objects.blind_lookup(email=term).values("user_id")
    try:
        normalise_phone(term)
    except ValidationError:
        return None
    return Profile.objects.blind_lookup(phone=term).values("user_id")


@admin.register(User)
class UserAdmin(DjangoUserAdmin, AccessRecordedAdmin):
    access_action = "user.admin_read"

    def subject_user(self, obj):
        return obj

    form = UserChangeForm
    add_form = UserCreationForm
    inlines = [ProfileInline]
    list_display = ("username", "role", "is_active", "is_staff", "last_login", "date_joined")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username",)
    ordering = ("username",)
    readonly_fields = ("last_login", "date_joined", "two_factor")
    actions = ["reset_two_factor"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            "Access",
            {
                "fields": (
                    "role",
                    "is_active",
                    "password_change_required",
                    "is_staff",
                    "is_superuser",
                    "two_factor",
                )
            },
        ),
        ("Permissions", {"fields": ("groups", "user_permissions"), "classes": ("collapse",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "role", "usable_password", "password1", "password2"),
            },
        ),
    )

    search_help_text = "Username (contains), or an exact e-mail address or phone number."

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        matches = _blind_search(search_term) if search_term else None
        if matches is not None:
            results |= queryset.filter(pk__in=matches)
        return results, may_have_duplicates

    @admin.display(description="Two-factor")
    def two_factor(self, obj):
        status = selectors.mfa_status(user=obj)
        if not status["enabled"]:
            return "No authenticator"
        return f"Authenticator app; {status['recovery_codes_left']} recovery codes left"

    @admin.action(description="Reset two-factor (lost phone): remove devices, end sessions")
    def reset_two_factor(self, request, queryset):
        for person in queryset:
            try:
                mfa.mfa_reset(request=request, actor=request.user, user=person)
            except ApplicationError as exc:
                self.message_user(request, f"{person}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{person}: two-factor reset, sessions ended.")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("reset_two_factor", None)
        return actions

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_revoke_sessions(request=request, user=obj)


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "user", "ip")
    list_filter = ("kind",)
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    readonly_fields = ("kind", "user", "username_digest", "ip", "user_agent", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
