from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class ProfileBackend(ModelBackend):
    """Django's model backend, with the user's profile standing where groups would.

    Login is by e-mail (case-insensitive, see UserManager.get_by_natural_key); permissions a
    user holds are those of their profile plus any granted to them directly.
    """

    def _get_group_permissions(self, user_obj):
        return Permission.objects.filter(profiles__users=user_obj)
