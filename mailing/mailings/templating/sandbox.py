"""What staff may use in a template — variables, tags, filters — and the sandboxed engine
that knows nothing else."""

from __future__ import annotations

import functools

from django.template import Engine, Library, defaultfilters
from django.template import defaulttags as django_defaulttags
from django.utils.translation import gettext_lazy as _

# --------------------------------------------------------------------------------------------
# What staff may use
# --------------------------------------------------------------------------------------------

#: Variables offered to staff in the composer's pick list: ``(name, label)``. Labels are lazy.
VARIABLES: list[tuple[str, str]] = [
    ("eleve.prenom", _("Pupil's first name")),
    ("eleve.nom", _("Pupil's last name")),
    ("eleve.classe", _("Pupil's class")),
    ("parent.civilite", _("Parent's title (Mr, Mrs…)")),
    ("parent.prenom", _("Parent's first name")),
    ("parent.nom", _("Parent's last name")),
    ("parent.email", _("Parent's e-mail address")),
    ("ecole.nom", _("School name")),
    ("ecole.adresse", _("School address")),
    ("ecole.telephone", _("School telephone number")),
    ("destinataire.email", _("Recipient's e-mail address")),
    ("enfants", _("The parent's children (a list, for a loop)")),
]

ALLOWED_TAGS = {"if", "elif", "else", "endif", "for", "empty", "endfor"}

ALLOWED_FILTERS = {
    "upper", "lower", "title", "capfirst", "default", "date", "join", "length", "first", "last",
    "linebreaksbr",
}

#: List variables (usable as ``{% for x in name %}``) and the fields of each item.
LIST_VARIABLES: dict[str, frozenset[str]] = {"enfants": frozenset({"prenom", "nom", "classe"})}

#: ``forloop`` attributes available inside a loop.
FORLOOP_FIELDS = frozenset({"counter", "counter0", "revcounter", "revcounter0", "first", "last"})



class Vocabulary:
    """What a family of templates may name: its variables and its list variables.

    Mailings use :data:`MAILING_VOCABULARY`; the System account's automated mail declares one
    per kind of message (see mailing/automated/catalogue.py)."""

    __slots__ = ("paths", "roots", "lists", "item_fields", "loop_example")

    def __init__(self, variables, lists: dict[str, frozenset[str]] | None = None):
        self.paths = frozenset(name for name, _label in variables)
        self.roots = frozenset(name.split(".")[0] for name in self.paths)
        self.lists = dict(lists or {})
        self.item_fields = frozenset().union(*self.lists.values())
        first = next(iter(self.lists), "enfants")
        item = "enfant" if first == "enfants" else "item"
        self.loop_example = f"{{% for {item} in {first} %}} … {{% endfor %}}"


MAILING_VOCABULARY = Vocabulary(VARIABLES, LIST_VARIABLES)


# --------------------------------------------------------------------------------------------
# The sandboxed engine
# --------------------------------------------------------------------------------------------

#: The only template library the sandboxed engine knows (loaded as its sole builtin).
register = Library()
for _name in ("if", "for"):  # elif/else/endif/empty/endfor are parsed by these two.
    register.tags[_name] = django_defaulttags.register.tags[_name]
for _name in sorted(ALLOWED_FILTERS):
    register.filters[_name] = defaultfilters.register.filters[_name]
del _name


class _SandboxEngine(Engine):
    # Engine always prepends these (defaulttags, defaultfilters, loader_tags); we want none.
    default_builtins: list[str] = []


@functools.cache
def _engine() -> Engine:
    return _SandboxEngine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries={},
        builtins=[__name__],
        string_if_invalid="",
        debug=False,
        autoescape=True,  # The effective value is chosen per render (see CompiledTemplate).
    )


