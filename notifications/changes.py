"""Change detection: the one place where watched changes of school data are noticed.

Every save of a watched model — staff screens, the parent portal, the Django admin, a management
command, a shell — goes through Django's ``pre_save``/``post_save`` signals, connected here
(and only here) in :func:`connect`, called by ``NotificationsConfig.ready``:

* ``pre_save`` reads the watched fields' stored values (one query per save of an existing
  object; none for a new one);
* ``post_save`` compares and writes one :class:`~notifications.models.Change` row per changed
  field, *in the same transaction* as the change — so a rolled-back change leaves no trace —
  and asks for alerts to be dispatched once the transaction commits
  (:func:`notifications.alerts.schedule_dispatch`).

What is watched (the catalogue of :class:`~notifications.models.Event`):

=========================  ====================================================
Student.school_class        STUDENT_CLASS_CHANGED (old → new class)
Student created             STUDENT_CREATED
EnrolmentRequest created    ENROLMENT_REQUESTED (a parent asked, from the portal)
Guardian.phone/email/       GUARDIAN_CONTACT_CHANGED (one Change per field)
address
User.is_active False→True   PARENT_REGISTERED (a parent confirmed their sign-up: never logged in)
for a parent's account
=========================  ====================================================

Writes that bypass ``Model.save()`` (``QuerySet.update()``, ``bulk_update``, raw SQL) are not
seen: application code changes watched fields with ``save()`` (see school/services.py).
``loaddata`` (``raw=True``) is ignored on purpose.

The author is the user of the current request (set by :class:`ChangeAuthorMiddleware`), or
nobody for commands and automatic processes.
"""

from __future__ import annotations

import contextlib
import contextvars

from django.db.models.signals import post_save, pre_save

#: Who is making changes right now (a request's user), for "who changed what".
current_author: contextvars.ContextVar = contextvars.ContextVar("change_author", default=None)
_muted: contextvars.ContextVar = contextvars.ContextVar("changes_muted", default=False)


@contextlib.contextmanager
def muted():
    """Changes made inside are not news (loading demo data, an initial import)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)

_OLD = "_notifications_old_values"


class ChangeAuthorMiddleware:
    """Records the request's user as the author of the changes it makes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        token = current_author.set(user if user is not None and user.is_authenticated
                                   else None)
        try:
            return self.get_response(request)
        finally:
            current_author.reset(token)


def _record(**fields) -> None:
    from .alerts import schedule_dispatch
    from .models import Change

    if _muted.get():
        return
    author = current_author.get()
    Change.objects.create(
        author=author, author_repr=(author.get_full_name() or author.email) if author else "",
        **fields)
    schedule_dispatch()


def _remember_old_values(sender, instance, fields, update_fields) -> None:
    if instance._state.adding or instance.pk is None:
        setattr(instance, _OLD, None)
        return
    if update_fields is not None:
        fields = [name for name in fields if name in update_fields]
    if not fields:
        setattr(instance, _OLD, {})
        return
    setattr(instance, _OLD, sender._base_manager.using(instance._state.db).filter(
        pk=instance.pk).values(*fields).first())


# --- Students ---------------------------------------------------------------------------

def _student_pre_save(sender, instance, raw, update_fields, **kwargs):
    if not raw:
        watched = update_fields is None or "school_class" in update_fields or (
            "school_class_id" in update_fields)
        _remember_old_values(sender, instance, ["school_class_id"] if watched else [], None)


def _student_post_save(sender, instance, created, raw, **kwargs):
    from school.models import SchoolClass

    from .models import Event

    if raw:
        return
    common = {"object_type": "school.student", "object_id": instance.pk,
              "object_repr": str(instance), "object_url": instance.get_absolute_url()}
    if created:
        _record(event=Event.STUDENT_CREATED, field="created",
                new_value=str(instance.school_class or ""),
                class_ids=[instance.school_class_id] if instance.school_class_id else [],
                **common)
        return
    old = getattr(instance, _OLD, None) or {}
    if "school_class_id" not in old or old["school_class_id"] == instance.school_class_id:
        return
    ids = [pk for pk in (old["school_class_id"], instance.school_class_id) if pk]
    names = dict(SchoolClass.objects.filter(pk__in=ids).values_list("pk", "name"))
    _record(event=Event.STUDENT_CLASS_CHANGED, field="school_class",
            old_value=names.get(old["school_class_id"], ""),
            new_value=names.get(instance.school_class_id, ""), class_ids=ids, **common)


# --- Guardians --------------------------------------------------------------------------

GUARDIAN_FIELDS = ["phone", "email", "address"]


def _guardian_class_ids(guardian) -> list[int]:
    from school.models import Student

    return sorted({pk for pk in Student.objects.filter(guardians=guardian).values_list(
        "school_class_id", flat=True) if pk})


def _guardian_pre_save(sender, instance, raw, update_fields, **kwargs):
    if not raw:
        _remember_old_values(sender, instance, GUARDIAN_FIELDS, update_fields)


def _guardian_post_save(sender, instance, created, raw, **kwargs):
    from .models import Event

    old = getattr(instance, _OLD, None)
    if raw or created or not old:
        return
    changed = [name for name in GUARDIAN_FIELDS
               if name in old and (old[name] or "") != (getattr(instance, name) or "")]
    if not changed:
        return
    class_ids = _guardian_class_ids(instance)
    shown = _phone_as_written if "phone" in changed else None
    for name in changed:
        before, after = old[name] or "", getattr(instance, name) or ""
        if name == "phone":
            before, after = shown(before), shown(after)
        _record(event=Event.GUARDIAN_CONTACT_CHANGED, object_type="school.guardian",
                object_id=instance.pk, object_repr=str(instance),
                object_url=instance.get_absolute_url(), field=name,
                old_value=before, new_value=after, class_ids=class_ids)


def _phone_as_written(stored: str) -> str:
    """Numbers are stored in E.164; the alert shows them as people write them here."""
    from school import phones
    from school.models import School

    return phones.display(stored, School.current().country) if stored else ""


# --- Enrolment requests ----------------------------------------------------------------

def _enrolment_post_save(sender, instance, created, raw, **kwargs):
    from django.urls import reverse

    from .models import Event

    if raw or not created:
        return
    _record(event=Event.ENROLMENT_REQUESTED, object_type="school.enrolmentrequest",
            object_id=instance.pk, object_repr=f"{instance.first_name} {instance.last_name}",
            object_url=reverse("school:enrolment_detail", args=[instance.pk]),
            field="enrolment", new_value=str(instance.requested_class or ""),
            class_ids=[instance.requested_class_id] if instance.requested_class_id else [])


# --- Parent registration ----------------------------------------------------------------

def _user_pre_save(sender, instance, raw, update_fields, **kwargs):
    # Logging in saves last_login only: no query then.
    if not raw and instance.is_active:
        _remember_old_values(sender, instance, ["is_active"], update_fields)


def _user_post_save(sender, instance, created, raw, **kwargs):
    from school.models import Guardian

    from .models import Event

    old = getattr(instance, _OLD, None)
    if raw or created or not instance.is_active or not old or old.get("is_active", True):
        return
    if instance.last_login is not None:  # reactivated by an administrator: not news
        return
    guardian = Guardian.objects.filter(user=instance).first()
    if guardian is None:
        return
    _record(event=Event.PARENT_REGISTERED, object_type="school.guardian",
            object_id=guardian.pk, object_repr=str(guardian),
            object_url=guardian.get_absolute_url(), field="registered",
            new_value=instance.email, class_ids=_guardian_class_ids(guardian))


def connect() -> None:
    from django.contrib.auth import get_user_model

    from school.models import EnrolmentRequest, Guardian, Student

    user_model = get_user_model()
    for model, before, after in [(Student, _student_pre_save, _student_post_save),
                                 (Guardian, _guardian_pre_save, _guardian_post_save),
                                 (user_model, _user_pre_save, _user_post_save)]:
        uid = f"notifications.changes.{model._meta.label_lower}"
        pre_save.connect(before, sender=model, dispatch_uid=uid)
        post_save.connect(after, sender=model, dispatch_uid=uid)
    post_save.connect(_enrolment_post_save, sender=EnrolmentRequest,
                      dispatch_uid="notifications.changes.school.enrolmentrequest")
