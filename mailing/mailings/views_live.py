"""The E-mails module's live fragments: the compose page's audience count and the mailing
page's picture, each loaded apart from its page."""

from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required
from mailing.mailings import charts
from mailing.mailings.audience import Audience, resolve
from mailing.mailings.forms import AudienceForm
from mailing.mailings.views import SEND, _visible_mailing
from mailing.models import Mailing
from mailing.sending_accounts import selectors


@require_POST
@permission_required(SEND)
def mailing_audience_count(request):
    """The compose page's live count: the audience being chosen, resolved as the confirm page
    will resolve it, as an HTML fragment."""
    form = AudienceForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    account = selectors.accounts_user_may_send_from(request.user).filter(
        pk=int(request.POST["account"]) if request.POST.get("account", "").isdigit() else 0
    ).first()
    mode = form.cleaned_data["mode"]
    plan = resolve(Audience.from_json(form.audience()), mode)
    summary = plan.summary(mode, account.max_bcc_recipients if account else 100)
    return render(request, "mailing/includes/audience_count.html", {"summary": summary})


@permission_required(SEND)
def mailing_picture(request, pk):
    """The mailing page's picture as a fragment, apart from the page: it reads the mailing's
    recipients (grouped), so it is cached a little while it sends and longer once done."""
    mailing = _visible_mailing(request, pk)
    key = (f"mailing-picture:{mailing.pk}:{mailing.created_at.timestamp()}:"
           f"{translation.get_language()}")
    fragment = cache.get(key)
    if fragment is None:
        fragment = render_to_string("mailing/includes/mailing_picture.html", {
            "mailing": mailing, "timeline": charts.timeline_svg(mailing),
            "reasons": charts.failure_reasons(mailing)}, request=request)
        active = mailing.status in (Mailing.Status.QUEUED, Mailing.Status.SENDING)
        cache.set(key, fragment, 10 if active else 300)
    return HttpResponse(fragment)
