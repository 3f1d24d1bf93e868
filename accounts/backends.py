"""Authentication backends: profile permissions, and login limits (django-axes)."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class ProfileBackend(ModelBackend):
    """Django's model backend, with the user's profile standing where groups would.

    Login is by e-mail (case-insensitive, see UserManager.get_by_natural_key); permissions a
    user holds are those of their profile plus any granted to them directly.
    """

    def _get_group_permissions(self, user_obj):
        return Permission.objects.filter(profiles__users=user_obj)


def login_attempt_username(request, credentials: dict) -> str:
    """The account a login attempt is counted against (django-axes): the typed e-mail address
    as logins match it, case-insensitively and without surrounding spaces."""
    return (credentials or {}).get("username", "").strip().lower()


class LoginLimitBackend(AxesStandaloneBackend):
    """django-axes' check, for logins that come with a request (every web login: the login
    form, the admin). A call without one — the shell, a test client's login() — has no address
    to count against and is left to the next backend, as Django does for backends that cannot
    handle a call."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
