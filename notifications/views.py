"""Thin views of subscriptions, one-click unsubscribe and the contact form."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required
from eduka.ratelimit import client_ip

from . import services
from .forms import ContactForm, SubscriptionForm
from .models import ContactMessage, Subscription


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


SUBSCRIBE = "notifications.subscribe_to_changes"
MANAGE_ALL = "notifications.manage_subscriptions"


def _visible_subscriptions(user):
    """Everyone's for administrators, one's own for the others."""
    subscriptions = Subscription.objects.select_related("user", "school_class")
    if user.has_perm(MANAGE_ALL):
        return subscriptions
    return subscriptions.filter(user=user)


@permission_required(SUBSCRIBE)
def subscription_list(request):
    form = SubscriptionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        subscription = form.save()
        messages.success(request, _("Subscribed: %(subscription)s.") % {
            "subscription": subscription.describe()})
        return redirect("notifications:subscription_list")
    subscriptions = _visible_subscriptions(request.user)
    chosen_user = request.GET.get("user", "")
    if request.user.has_perm(MANAGE_ALL) and chosen_user.isdigit():
        subscriptions = subscriptions.filter(user_id=int(chosen_user))
    page = Paginator(subscriptions.order_by("user__last_name", "user__first_name", "event",
                                            "pk"), 50).get_page(request.GET.get("page"))
    return render(request, "notifications/subscription_list.html", {
        "form": form, "page": page, "manage_all": request.user.has_perm(MANAGE_ALL)})


@require_POST
@permission_required(SUBSCRIBE)
def subscription_delete(request, pk):
    subscription = get_object_or_404(_visible_subscriptions(request.user), pk=pk)
    subscription.delete()
    messages.success(request, _("Subscription ended: %(subscription)s.") % {
        "subscription": subscription.describe()})
    return redirect("notifications:subscription_list")


# One-click unsubscribe (RFC 8058). The link in an alert opens a page with a button (a GET
# never unsubscribes: mail scanners open links); mail clients POST
# "List-Unsubscribe=One-Click" to the same URL without a session or a CSRF token, so the
# subscription's secret token is the proof. Unknown tokens get the same answer as known ones.
@csrf_exempt
def unsubscribe(request, token):
    subscription = Subscription.objects.select_related("user", "school_class").filter(
        token=token).first()
    if request.method == "POST":
        if subscription is not None:
            subscription.delete()
        return render(request, "notifications/unsubscribed.html", {
            "subscription": subscription})
    return render(request, "notifications/unsubscribe.html", {"subscription": subscription,
                                                              "token": token})
