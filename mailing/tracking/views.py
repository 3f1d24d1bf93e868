"""Configuration > Suppressed addresses (administrators): addresses that hard-bounced are
left out of every mailing; an administrator puts one back once it works again."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required
from mailing.models import SuppressedAddress
from mailing.tracking import reports as tracking

MANAGE = "mailing.manage_sending_accounts"


@permission_required(MANAGE)
def suppressed_list(request):
    query = request.GET.get("q", "").strip()
    addresses = SuppressedAddress.objects.order_by("-created_at", "-pk")
    if query:
        addresses = addresses.filter(email__icontains=query)
    return render(request, "mailing/suppressed_list.html", {
        "page": Paginator(addresses, 50).get_page(request.GET.get("page")),
        "q": query, "query": f"q={query}" if query else ""})


@require_POST
@permission_required(MANAGE)
def suppressed_remove(request, pk):
    suppressed = get_object_or_404(SuppressedAddress, pk=pk)
    tracking.suppressed_address_remove(suppressed=suppressed)
    messages.success(request, _("%(email)s will receive mailings again.")
                     % {"email": suppressed.email})
    return redirect("mailing:suppressed_list")
