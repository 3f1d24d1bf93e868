"""The compose page's audience picker, server side: type-ahead search over levels, classes,
students, guardians and staff, and the labels of what is already chosen.

Each kind is one query (guardians two: their children are named), sliced in the database, so a
search costs the same few queries for a school of 50 people or of 5,000. Picking an item adds
its id to the compose form's field of that kind (``classes``, ``students``, ``guardians``,
``users``); a level is its classes.
"""

from django.db.models import Count, Prefetch, Q, Value
from django.db.models.functions import Concat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from school.models import Guardian, SchoolClass, Student

#: Results per kind in a first look; "more" pages of one kind are PAGE_SIZE long.
FIRST_LOOK = 5
PAGE_SIZE = 20
#: People are searched from this many characters on (classes and levels from none).
MIN_PEOPLE_QUERY = 2
KINDS = ("levels", "classes", "students", "guardians", "users")


def staff_users():
    """The staff a mailing may name one by one: active users of a staff profile."""
    return User.objects.filter(is_active=True, profile__is_staff_profile=True)


def _full_name(prefix: str = ""):
    return Concat(f"{prefix}first_name", Value(" "), f"{prefix}last_name")


def _item(field: str, ids, label: str, detail: str = "") -> dict:
    return {"field": field, "ids": list(ids), "label": label, "detail": detail}


def _classes(query: str):
    classes = SchoolClass.objects.annotate(size=Count("students")).order_by("level", "name")
    if query:
        classes = classes.filter(Q(name__icontains=query) | Q(level__icontains=query))
    return classes


def _levels(query: str, offset: int, limit: int) -> list[dict]:
    levels: dict[str, list[int]] = {}
    for pk, level in SchoolClass.objects.exclude(level="").filter(
            level__icontains=query).order_by("level", "name").values_list("pk", "level"):
        levels.setdefault(level, []).append(pk)
    return [_item("classes", ids, _("Whole level %(level)s") % {"level": level}, ngettext(
        "%(count)d class", "%(count)d classes", len(ids)) % {"count": len(ids)})
        for level, ids in list(levels.items())[offset:offset + limit]]


def _class_items(query: str, offset: int, limit: int) -> list[dict]:
    return [_item("classes", [c.pk], _("Whole class %(name)s") % {"name": c.name}, ngettext(
        "%(count)d student", "%(count)d students", c.size) % {"count": c.size})
        for c in _classes(query)[offset:offset + limit]]


def _student_items(query: str, offset: int, limit: int) -> list[dict]:
    students = Student.objects.select_related("school_class").annotate(
        full_name=_full_name()).filter(
        Q(full_name__icontains=query) | Q(last_name__icontains=query)
        | Q(school_class__name__icontains=query)).order_by("last_name", "first_name", "pk")
    return [_item("students", [s.pk], str(s), _("Student, %(class)s") % {
        "class": s.school_class.name if s.school_class else _("no class")})
        for s in students[offset:offset + limit]]


def _guardian_items(query: str, offset: int, limit: int) -> list[dict]:
    children = Prefetch("students", queryset=Student.objects.select_related("school_class")
                        .order_by("first_name"))
    guardians = Guardian.objects.annotate(full_name=_full_name()).filter(
        Q(full_name__icontains=query) | Q(last_name__icontains=query)
        | Q(email__icontains=query)
        | Q(pk__in=Student.objects.filter(school_class__name__icontains=query)
            .values("guardians"))).order_by("last_name", "first_name", "pk")
    return [_item("guardians", [g.pk], str(g), ", ".join(filter(None, [
        g.email or _("no e-mail address"),
        *(f"{kid.first_name} ({kid.school_class.name})" if kid.school_class
          else kid.first_name for kid in g.students.all())])))
        for g in guardians.prefetch_related(children)[offset:offset + limit]]


def _user_items(query: str, offset: int, limit: int) -> list[dict]:
    users = staff_users().select_related("profile").annotate(full_name=_full_name()).filter(
        Q(full_name__icontains=query) | Q(last_name__icontains=query)
        | Q(email__icontains=query)).order_by("last_name", "first_name", "pk")
    return [_item("users", [u.pk], str(u), f"{u.profile}, {u.email}")
            for u in users[offset:offset + limit]]


_SEARCHES = {"levels": _levels, "classes": _class_items, "students": _student_items,
             "guardians": _guardian_items, "users": _user_items}


def search(query: str, *, kind: str = "", page: int = 1) -> dict:
    """Results by kind, each ``{"items": [...], "more": bool}``. Without a kind, a first look
    at every kind; with one, its page ``page`` (PAGE_SIZE items)."""
    query = " ".join(query.split())[:100]
    kinds = [kind] if kind in KINDS else list(KINDS)
    if len(query) < MIN_PEOPLE_QUERY:
        kinds = [k for k in kinds if k in ("levels", "classes")]
    limit = PAGE_SIZE if kind else FIRST_LOOK
    offset = (max(page, 1) - 1) * limit if kind else 0
    results = {}
    for name in kinds:
        items = _SEARCHES[name](query, offset, limit + 1)  # one more says there are more
        results[name] = {"items": items[:limit], "more": len(items) > limit}
    return {"query": query, "kind": kind, "page": page, "results": results}


def chosen(*, class_ids=(), student_ids=(), guardian_ids=(), user_ids=()) -> list[dict]:
    """What the compose form already holds, as the picker's chips (one query per kind)."""
    items = [_item("classes", [c.pk], _("Whole class %(name)s") % {"name": c.name})
             for c in SchoolClass.objects.filter(pk__in=class_ids)]
    items += [_item("students", [s.pk], str(s), s.school_class.name if s.school_class else "")
              for s in Student.objects.filter(pk__in=student_ids).select_related(
                  "school_class")]
    items += [_item("guardians", [g.pk], str(g), g.email)
              for g in Guardian.objects.filter(pk__in=guardian_ids)]
    items += [_item("users", [u.pk], str(u), u.email)
              for u in staff_users().filter(pk__in=user_ids)]
    return items
