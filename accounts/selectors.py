"""Reads on users, for the user management screens."""

from django.db.models import Q, QuerySet

from .models import Profile, User


def user_list(*, search: str = "", profile: Profile | None = None,
              active: bool | None = None) -> QuerySet[User]:
    users = User.objects.select_related("profile")
    for word in search.split():
        users = users.filter(
            Q(email__icontains=word) | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
        )
    if profile is not None:
        users = users.filter(profile=profile)
    if active is not None:
        users = users.filter(is_active=active)
    return users


def active_administrators() -> QuerySet[User]:
    return User.objects.filter(is_active=True, profile__code=Profile.ADMIN)


def profile_list() -> QuerySet[Profile]:
    return Profile.objects.prefetch_related("permissions__content_type")
