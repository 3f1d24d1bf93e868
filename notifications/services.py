from django.db import transaction
from django.utils.translation import gettext as _

from .models import ContactMessage


@transaction.atomic
def contact_message_submit(*, name: str, email: str, subject: str, message: str,
                           ip: str = "") -> ContactMessage:
    """Store the visitor's message, then queue it to the school's contact address through the
    System account, with Reply-To set to the visitor."""
    from mailing.automated import system_mail_send
    from school.models import School

    contact = ContactMessage.objects.create(name=name, email=email, subject=subject,
                                            message=message, ip=ip or None)
    school = School.current()
    if school.contact_email:
        text = _("Message sent from the contact form by %(name)s <%(email)s>:") % {
            "name": name, "email": email} + "\n\n" + message
        contact.mailing = system_mail_send(
            to_email=school.contact_email, to_name=school.name,
            subject=_("Contact form: %(subject)s") % {"subject": subject}, text=text,
            reply_to=email)
        contact.save(update_fields=["mailing"])
    return contact
