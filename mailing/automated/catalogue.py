"""The automated e-mails of the System account, which administrators may reword.

Each kind of message is declared here once: its label, and the variables its templates may use
(a :class:`~mailing.mailings.templating.Vocabulary`). The default wording ships with the
application in
``mailing/automated/wording/<language>/<key>.txt`` (first line: the subject; then a blank line; then
the body); an administrator's version, per language, is a
:class:`~mailing.models.SystemMailTemplate` row. Both are rendered by the same sandboxed engine
as mailings, over plain values only, so a template can never reach a model or a secret.

The language is the school's (``settings.LANGUAGE_CODE``).
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mailing.mailings.templating import (
    RenderBudget,
    RenderLimitExceeded,
    TemplateProblem,
    Vocabulary,
    compile_template,
    template_errors,
)

logger = logging.getLogger(__name__)

DEFAULTS_DIR = Path(__file__).resolve().parent / "wording"

COMMON_VARIABLES = [
    ("destinataire.prenom", _("Recipient's first name")),
    ("destinataire.nom", _("Recipient's last name")),
    ("destinataire.email", _("Recipient's e-mail address")),
    ("ecole.nom", _("School name")),
    ("ecole.adresse", _("School address")),
    ("ecole.telephone", _("School telephone number")),
    ("site.url", _("Address of the application")),
]
LINK = ("lien", _("The link to open"))
LIFETIME = ("delai", _("Time before the link expires, in words (“30 minutes”, “48 heures”)"))
HOURS = ("delai_heures", _("Hours before the link expires"))
ENFANT_PRENOM = ("enfant.prenom", _("The child's first name"))
ENFANT_NOM = ("enfant.nom", _("The child's last name"))


@dataclass(frozen=True)
class SystemMail:
    key: str
    label: str
    description: str
    variables: list = field(default_factory=list)
    lists: dict = field(default_factory=dict)
    #: Variables the body must use: without them the mail is pointless (a link to open).
    required: tuple = ()

    @functools.cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary([*COMMON_VARIABLES, *self.variables], self.lists)

    @property
    def all_variables(self):
        return [*COMMON_VARIABLES, *self.variables]


SYSTEM_MAILS: dict[str, SystemMail] = {mail.key: mail for mail in [
    SystemMail("signup_validation", _("Parent sign-up: validation link"),
               _("Sent when a parent creates an account; the account stays inactive until the "
                 "link is confirmed."), [LINK, LIFETIME, HOURS], required=("lien",)),
    SystemMail("signup_existing", _("Parent sign-up: address already registered"),
               _("Sent instead of a validation link when the address already has an account, "
                 "so that the sign-up page never tells who is registered."), [LINK]),
    SystemMail("password_reset", _("Password reset link"),
               _("Sent when someone asks to reset a password (nothing is sent for an unknown "
                 "address)."), [LINK, LIFETIME, HOURS], required=("lien",)),
    SystemMail("password_changed", _("Password changed"),
               _("Sent after a password was changed or reset."), []),
    SystemMail("email_change_confirm", _("E-mail change: confirmation link"),
               _("Sent to the new address when a user asks to change theirs; nothing changes "
                 "until the link is confirmed."),
               [LINK, LIFETIME, HOURS, ("nouvelle_adresse", _("The new address"))],
               required=("lien",)),
    SystemMail("email_change_taken", _("E-mail change: address already used"),
               _("Sent to the new address instead of a link when another account already uses "
                 "it (the requester is told nothing more)."), [LINK]),
    SystemMail("email_changed", _("E-mail change: notice to the former address"),
               _("Sent to the former address once a change of address is confirmed."),
               [("nouvelle_adresse", _("The new address"))]),
    SystemMail("enrolment_accepted", _("Enrolment request accepted"),
               _("Sent to the parent when admissions accept an enrolment request."),
               [ENFANT_PRENOM, ENFANT_NOM, ("enfant.classe", _("The child's class")),
                ("lien", _("Link to the parent portal"))]),
    SystemMail("enrolment_refused", _("Enrolment request refused"),
               _("Sent to the parent when admissions refuse an enrolment request, with the "
                 "reason given."),
               [ENFANT_PRENOM, ENFANT_NOM, ("motif", _("The reason given by the school")),
                ("lien", _("Link to the parent portal"))]),
    SystemMail("contact_form", _("Contact form message"),
               _("A visitor's message, sent to the school's contact address with Reply-To set "
                 "to the visitor."),
               [("visiteur.nom", _("Visitor's name")),
                ("visiteur.email", _("Visitor's e-mail address")),
                ("visiteur.sujet", _("Subject typed by the visitor")),
                ("visiteur.message", _("The visitor's message"))]),
    SystemMail("replies_held", _("Replies held: hourly forwarding cap reached"),
               _("Sent to the administrators, at most once an hour per account, when an "
                 "account receives more replies than it may forward in an hour; the others "
                 "are kept on the “Replies held” page."),
               [("compte.nom", _("The sending account's name")),
                ("compte.adresse", _("The sending account's address")),
                ("plafond", _("Replies forwarded per hour at most")),
                ("lien", _("Link to the replies held"))]),
    SystemMail("change_alert", _("Data-change alert"),
               _("Sent to staff who subscribed to changes: one message per subscription, "
                 "listing every change of one operation (a digest for a bulk change)."),
               [("abonnement.nom", _("What the subscription watches")),
                ("abonnement.desabonnement", _("Link to end this subscription")),
                ("abonnement.gestion", _("Link to manage one's subscriptions")),
                ("nombre", _("Number of changes")),
                ("premier.objet", _("What the first change is about")),
                ("premier.champ", _("What the first change changed")),
                ("changements", _("The changes (a list, for a loop)"))],
               {"changements": frozenset({"objet", "champ", "avant", "apres", "auteur", "date",
                                          "lien"})}),
]}


def school_language() -> str:
    return settings.LANGUAGE_CODE.split("-")[0]


@functools.cache
def default_source(key: str, language: str) -> tuple[str, str]:
    """The shipped (subject, body) of ``key`` in ``language`` (French if none there)."""
    path = DEFAULTS_DIR / language / f"{key}.txt"
    if not path.exists():
        path = DEFAULTS_DIR / "fr" / f"{key}.txt"
    subject, _blank, body = path.read_text(encoding="utf-8").partition("\n\n")
    return subject.strip(), body


def current_source(key: str, language: str) -> tuple[str, str, bool]:
    """(subject, body, customised) as they will be used for ``key`` in ``language``."""
    from mailing.models import SystemMailTemplate

    custom = SystemMailTemplate.objects.filter(key=key, language=language).first()
    if custom is not None:
        return custom.subject, custom.body_text, True
    return (*default_source(key, language), False)


def source_errors(key: str, subject: str, body: str) -> list[str]:
    mail = SYSTEM_MAILS[key]
    problems = [*template_errors(subject, mail.vocabulary),
                *template_errors(body, mail.vocabulary)]
    for name in mail.required:
        if not re.search(r"\{\{\s*" + re.escape(name) + r"\s*(\|[^}]*)?\}\}", body):
            problems.append(gettext("The text must contain “%(variable)s”: without it this "
                                    "e-mail is of no use.") % {"variable": f"{{{{ {name} }}}}"})
    return problems


def render_sources(key: str, subject: str, body: str, context: dict) -> tuple[str, str]:
    """Raises RenderLimitExceeded past the render caps (subject and body share them)."""
    vocabulary = SYSTEM_MAILS[key].vocabulary
    budget = RenderBudget()
    rendered = compile_template(subject, vocabulary=vocabulary).render(context, budget)
    return " ".join(rendered.split()), compile_template(body, vocabulary=vocabulary).render(
        context, budget)


def render_system_mail(key: str, context: dict, *, language: str | None = None
                       ) -> tuple[str, str]:
    """(subject, text) of automated mail ``key`` for ``context`` (plain values).

    An administrator's version is used when there is one; should it no longer validate (a
    variable withdrawn by an upgrade), the shipped default is used and the problem logged, so
    that automated mail never stops."""
    language = language or school_language()
    subject, body, customised = current_source(key, language)
    if customised:
        try:
            return render_sources(key, subject, body, context)
        except (TemplateProblem, RenderLimitExceeded) as problem:
            logger.error("Automated e-mail %s (%s): the administrators' version is refused "
                         "(%s); the default is used.", key, language, problem)
    return render_sources(key, *default_source(key, language), context)


def link_lifetime(seconds: int) -> str:
    """How long a mailed link lives, as the mail says it: in minutes under an hour ("expires
    in 30 minutes", never "in 0 hours"), in hours otherwise."""
    if seconds < 3600:
        minutes = max(1, seconds // 60)
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = seconds // 3600
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def sample_context(key: str) -> dict:
    """Plausible values for previews: every variable of ``key`` filled in."""
    context = {
        "destinataire": {"prenom": "Françoise", "nom": "Dubois",
                         "email": "francoise.dubois@example.org"},
        "ecole": {"nom": "École élémentaire Jean-Jaurès",
                  "adresse": "12 rue des Écoles, 69003 Lyon", "telephone": "01 99 00 12 34"},
        "site": {"url": settings.SITE_URL},
        "lien": f"{settings.SITE_URL}/…",
        "delai": link_lifetime(48 * 3600),
        "delai_heures": 48,
        "nouvelle_adresse": "f.dubois@example.org",
        "enfant": {"prenom": "Noé", "nom": "Dubois", "classe": "CE1 A"},
        "motif": "Plus de place en CE1 cette année.",
        "visiteur": {"nom": "Jean Martin", "email": "jean.martin@example.org",
                     "sujet": "Cantine", "message": "Bonjour, …"},
        "abonnement": {"nom": str(_("A student changes class")),
                       "desabonnement": f"{settings.SITE_URL}/…",
                       "gestion": f"{settings.SITE_URL}/…"},
    }
    changes = [{"objet": "Léa Dubois", "champ": str(_("class")), "avant": "CM1 A",
                "apres": "CM2 B", "auteur": "Claire Martin", "date": "27/11/2026 10:02",
                "lien": f"{settings.SITE_URL}/…"}]
    context.update({"changements": changes, "nombre": len(changes), "premier": changes[0]})
    return context
