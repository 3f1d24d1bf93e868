"""Idempotent demo data: a school, its classes, students and guardians, one user per profile."""

from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import translation

from accounts.models import Profile, User
from accounts.profiles import sync_builtin_profiles
from school.models import EnrolmentRequest, Guardian, School, SchoolClass, Student

DEMO_PASSWORD = "eduka-demo-2026"  # noqa: S105 (demo data, printed on purpose)
DEMO_DOMAIN = "demo.eduka.school"

DEMO_USERS = [
    (Profile.ADMIN, "admin", "Alice", "Martin"),
    (Profile.DIRECTION, "direction", "Bernard", "Lefèvre"),
    (Profile.SECRETARIAT, "secretariat", "Chloé", "Dubois"),
    (Profile.ADMISSIONS, "admissions", "David", "Moreau"),
    (Profile.TEACHER, "enseignant", "Emma", "Laurent"),
    (Profile.PARENT, "parent", "Fatima", "Benali"),
]
CLASSES = [("6e A", "6e"), ("6e B", "6e"), ("5e A", "5e"), ("4e A", "4e"), ("3e A", "3e")]
FIRST_NAMES = ["Léa", "Hugo", "Inès", "Louis", "Jade", "Gabriel", "Chloé", "Nathan", "Manon",
               "Adam", "Camille", "Lucas", "Sarah", "Yanis", "Zoé", "Noah", "Lina", "Ethan"]
LAST_NAMES = ["Bernard", "Petit", "Robert", "Richard", "Durand", "Leroy", "Moreau", "Simon",
              "Laurent", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
              "Morel", "Girard", "Andre", "Mercier", "Dupont", "Lambert", "Bonnet", "Francois"]
PARENT_FIRST_NAMES = ["Sophie", "Thomas", "Nadia", "Julien", "Claire", "Karim", "Isabelle",
                      "Olivier", "Amina", "Pierre"]
STUDENTS_PER_CLASS = 8


class Command(BaseCommand):
    help = "Create (or complete) the demo school, its users and their logins. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options):
        from notifications.changes import muted

        with muted():  # Loading demo data is not news for the alert subscriptions.
            self._seed()

    def _seed(self):
        sync_builtin_profiles()
        School.objects.get_or_create(
            pk=1, defaults={"name": "Collège Jean Moulin (démo)",
                            "address": "1 rue de l'École\n75000 Paris",
                            "phone": "01 23 45 67 89",
                            "contact_email": f"contact@{DEMO_DOMAIN}"},
        )
        classes = [SchoolClass.objects.get_or_create(name=name, defaults={"level": level})[0]
                   for name, level in CLASSES]
        serial = 0
        for class_index, school_class in enumerate(classes):
            for _ in range(STUDENTS_PER_CLASS):
                serial += 1
                last_name = LAST_NAMES[serial % len(LAST_NAMES)]
                first_name = FIRST_NAMES[(serial * 7) % len(FIRST_NAMES)]
                student, created = Student.objects.get_or_create(
                    first_name=first_name, last_name=last_name,
                    defaults={"school_class": school_class,
                              "birth_date": date(2014 - class_index, 1 + serial % 12,
                                                 1 + serial % 28)},
                )
                if created:
                    student.guardians.set(self._guardians_for(serial, last_name))
        users = self._users()
        parent_user = users[Profile.PARENT]
        guardian = Guardian.objects.filter(user__isnull=True, students__isnull=False).first()
        if not Guardian.objects.filter(user=parent_user).exists() and guardian:
            guardian.user = parent_user
            guardian.email = parent_user.email
            guardian.first_name, guardian.last_name = parent_user.first_name, parent_user.last_name
            guardian.save()
        self._enrolment_request(parent_user, classes)
        self._sending_accounts(users)
        self._subscriptions(users)
        self._print_logins(users)

    def _enrolment_request(self, parent_user, classes):
        """One pending request from the demo parent, for the admissions screens."""
        guardian = Guardian.objects.filter(user=parent_user).first()
        if guardian is None or guardian.enrolment_requests.exists():
            return
        today = date.today()
        EnrolmentRequest.objects.create(
            guardian=guardian, first_name="Yasmine", last_name=guardian.last_name,
            birth_date=today.replace(year=today.year - 11, month=5, day=4),
            requested_class=classes[0], note="Sœur d'un élève déjà inscrit.")

    def _subscriptions(self, users):
        """The product page's examples: the principal hears when a student changes class,
        admissions when a parent updates a phone number."""
        from notifications.models import Event, Subscription

        for profile, event in ((Profile.DIRECTION, Event.STUDENT_CLASS_CHANGED),
                               (Profile.ADMISSIONS, Event.GUARDIAN_CONTACT_CHANGED),
                               (Profile.ADMISSIONS, Event.PARENT_REGISTERED),
                               (Profile.ADMISSIONS, Event.ENROLMENT_REQUESTED)):
            Subscription.objects.get_or_create(user=users[profile], event=event,
                                               school_class=None, level="")

    def _sending_accounts(self, users):
        """The System account, an external account and an integrated one, all sending to the
        local mail catcher."""
        from mailing.models import SendingAccount

        catcher = {"kind": SendingAccount.Kind.EXTERNAL,
                   "smtp_host": getattr(settings, "MAIL_CATCHER_HOST", "127.0.0.1"),
                   "smtp_port": getattr(settings, "MAIL_CATCHER_PORT", 1025),
                   "security": SendingAccount.Security.NONE}
        system = SendingAccount.objects.get(is_system=True)
        if not system.kind:
            for name, value in {**catcher, "sender_name": "Collège Jean Moulin",
                                "from_email": f"no-reply@{DEMO_DOMAIN}"}.items():
                setattr(system, name, value)
            system.save()
        account, created = SendingAccount.objects.get_or_create(
            name="Secrétariat", defaults={**catcher, "sender_name": "Secrétariat du collège",
                                          "from_email": f"secretariat@{DEMO_DOMAIN}",
                                          "reply_to": f"secretariat@{DEMO_DOMAIN}",
                                          "max_bcc_recipients": 50},
        )
        if created:
            account.users.set([users[Profile.SECRETARIAT], users[Profile.ADMISSIONS]])
            account.history_profiles.set(Profile.objects.filter(code=Profile.DIRECTION))
        # The integrated service (its relay is the mail catcher in development): what other
        # applications such as Pronote send through, with an access made on its page.
        integrated, created = SendingAccount.objects.get_or_create(
            name="Vie scolaire (service intégré)", defaults={
                "kind": SendingAccount.Kind.INTEGRATED, "sender_name": "Vie scolaire",
                "integrated_local_part": "vie-scolaire-jean-moulin",
                "forward_to": f"vie-scolaire@{DEMO_DOMAIN}"})
        if created:
            integrated.users.set([users[Profile.SECRETARIAT]])
            integrated.history_profiles.set(Profile.objects.filter(code=Profile.DIRECTION))
        self._templates(users)

    def _templates(self, users):
        from mailing.models import MailingTemplate

        MailingTemplate.objects.get_or_create(name="Réunion parents-professeurs", defaults={
            "subject": "Réunion parents-professeurs de {{ eleve.classe }}",
            "body_text": ("Bonjour {{ parent.civilite }} {{ parent.nom }},\n\n"
                          "Nous avons le plaisir de vous convier à la réunion "
                          "parents-professeurs de la classe de {{ eleve.classe }}, "
                          "au sujet de {{ eleve.prenom }}.\n\n{{ ecole.nom }}"),
            "created_by": users[Profile.ADMIN]})
        MailingTemplate.objects.get_or_create(name="Information aux familles", defaults={
            "subject": "Information de {{ ecole.nom }}",
            "body_text": ("Bonjour {{ parent.prenom }} {{ parent.nom }},\n\n"
                          "{% for enfant in enfants %}- {{ enfant.prenom }} "
                          "({{ enfant.classe }})\n{% endfor %}\n{{ ecole.nom }}"),
            "created_by": users[Profile.ADMIN]})

    def _guardians_for(self, serial, last_name):
        guardians = []
        for offset, civility in ((0, Guardian.Civility.MADAM), (1, Guardian.Civility.SIR)):
            if offset and serial % 3 == 0:
                continue  # some students have a single guardian
            first_name = PARENT_FIRST_NAMES[(serial + offset * 3) % len(PARENT_FIRST_NAMES)]
            email = f"{first_name}.{last_name}{serial}@parents.{DEMO_DOMAIN}".lower()
            guardian, _ = Guardian.objects.get_or_create(
                email=email,
                defaults={"civility": civility, "first_name": first_name,
                          "last_name": last_name,
                          "phone": _demo_phone(serial, offset),
                          # One family said no to SMS on the portal.
                          "sms_opt_out": serial == 11 and not offset},
            )
            guardians.append(guardian)
        return guardians

    def _users(self):
        users = {}
        for code, local, first_name, last_name in DEMO_USERS:
            email = f"{local}@{DEMO_DOMAIN}"
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_user(
                    email, DEMO_PASSWORD, first_name=first_name, last_name=last_name,
                    profile=Profile.objects.get(code=code),
                )
            users[code] = user
        return users

    def _print_logins(self, users):
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins (password for all: "
                                             f"{DEMO_PASSWORD}):"))
        with translation.override(settings.LANGUAGE_CODE):
            for user in users.values():
                self.stdout.write(f"  {user.profile!s:<16} {user.email}")


def _demo_phone(serial: int, offset: int) -> str:
    """Mostly mobiles, in E.164 as the forms store them; a few landlines, which SMS leaves out
    (the guardian's page says so)."""
    from school.phones import normalized

    if offset and serial % 7 == 0:
        return normalized(f"01 45 {serial % 100:02d} 67 {serial % 97:02d}")
    return normalized(f"06 12 {serial % 100:02d} {offset:02d} {serial % 97:02d}")
