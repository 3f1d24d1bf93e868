"""View decorators: permission checks that send visitors to the login page and others to 403."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def permission_required(*perms):
    """Anonymous visitors go to the login page; logged-in users without the permission get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def staff_required(view):
    """School staff only (any profile but Parent): anonymous visitors go to the login page,
    parents get 403."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        profile = request.user.profile
        if not (request.user.is_superuser or (profile and profile.is_staff_profile)):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapped)
