"""The E-mails module's live fragments: the compose page's audience search, count and
preview, and the mailing page's picture, each loaded apart from its page."""

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required
from mailing.mailings import audience_search, charts
from mailing.mailings.audience import Audience, resolve
from mailing.mailings.forms import AudienceForm, clean_body
from mailing.mailings.rendering import MailingRenderer
from mailing.mailings.templating import RenderLimitExceeded, template_errors
from mailing.mailings.views import SEND, _visible_mailing
from mailing.models import Mailing
from mailing.sending_accounts import selectors


@permission_required(SEND)
def mailing_audience_search(request):
    """The audience picker's type-ahead: levels, classes, students, guardians and staff
    matching ``q`` (JSON; ``kind`` and ``page`` for more of one kind)."""
    page = request.GET.get("page", "1")
    return JsonResponse(audience_search.search(
        request.GET.get("q", ""), kind=request.GET.get("kind", ""),
        page=int(page) if page.isdigit() else 1))


def _account(request):
    return selectors.accounts_user_may_use(request.user).filter(
        pk=int(request.POST["account"]) if request.POST.get("account", "").isdigit() else 0
    ).first()


@require_POST
@permission_required(SEND)
def mailing_audience_count(request):
    """The compose page's live count: the audience being chosen, resolved as the confirm page
    will resolve it, as an HTML fragment."""
    form = AudienceForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    account = _account(request)
    mode = form.cleaned_data["mode"]
    plan = resolve(Audience.from_json(form.audience()), mode,
                   sms=bool(account and account.is_sms))
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


@require_POST
@permission_required(SEND)
def mailing_compose_preview(request):
    """The compose page's preview, before anything is saved: the message as the chosen
    recipient of the audience will get it (subject, HTML, text), rendered by the worker's own
    renderer and caps."""
    form, account = AudienceForm(request.POST), _account(request)
    if not form.is_valid() or account is None:
        return HttpResponse(status=400)
    problems, html = [], ""
    try:
        html = clean_body(request.POST.get("body_html", ""))
    except ValidationError as error:
        problems += error.messages
    subject = request.POST.get("subject", "")
    problems += [str(p) for text in (subject, html) for p in template_errors(text)]
    mode = form.cleaned_data["mode"]
    plan = resolve(Audience.from_json(form.audience()), mode)
    index = request.POST.get("preview_index", "0")
    index = min(int(index) if index.isdigit() else 0, max(len(plan.messages) - 1, 0))
    context = {"problems": problems, "index": index, "choices": [
        (i, ", ".join(r.email for r in m.recipients[:3])
         + (f" (+{len(m.recipients) - 3})" if len(m.recipients) > 3 else ""))
        for i, m in enumerate(plan.messages[:200])]}
    if plan.messages and not problems:
        mailing = Mailing(account=account, mode=mode, subject=subject, body_text="",
                          body_html=html)
        try:
            context["subject"], context["text"], context["html"] = MailingRenderer(
                mailing).render_parts(plan.messages[index].context)
        except RenderLimitExceeded as problem:
            context["problems"] = [str(problem)]
    return render(request, "mailing/includes/compose_preview.html", context)
