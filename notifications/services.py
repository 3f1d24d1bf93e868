"""Writes of the notifications app (the contact form)."""

from django.db import transaction

from .models import ContactMessage


@transaction.atomic
def contact_message_submit(*, name: str, email: str, subject: str, message: str,
                           ip: str = "") -> ContactMessage:
    """Store the visitor's message, then queue it to the school's contact address through the
    System account, with Reply-To set to the visitor."""
    from mailing.automated.services import system_mail
    from school.models import School

    contact = ContactMessage.objects.create(name=name, email=email, subject=subject,
                                            message=message, ip=ip or None)
    school = School.current()
    if school.contact_email:
        contact.mailing = system_mail(
            "contact_form", to_email=school.contact_email, to_name=school.name,
            reply_to=email, context={"visiteur": {
                "nom": name, "email": email, "sujet": subject, "message": message}})
        contact.save(update_fields=["mailing"])
    return contact
