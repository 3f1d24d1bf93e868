from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from eduka.decorators import permission_required
from eduka.ratelimit import client_ip

from . import services
from .forms import ContactForm
from .models import ContactMessage


def contact(request):
    form = ContactForm(request.POST or None, ip=client_ip(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.contact_message_submit(name=data["name"], email=data["email"],
                                        subject=data["subject"], message=data["message"],
                                        ip=client_ip(request))
        messages.success(request, _("Thank you: your message was sent to the school."))
        return redirect("notifications:contact")
    return render(request, "notifications/contact.html", {"form": form})


@permission_required("notifications.view_contact_messages")
def contact_list(request):
    page = Paginator(ContactMessage.objects.select_related("mailing"), 25).get_page(
        request.GET.get("page"))
    return render(request, "notifications/contact_list.html", {"page": page})
