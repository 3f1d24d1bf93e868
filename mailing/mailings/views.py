"""The "E-mails" module: compose, preview, test, send, follow, history; the template library."""


from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required
from eduka.ratelimit import too_many
from mailing.engine.quotas import quota_forecast, waiting_for_quota
from mailing.mailings import export, scheduling
from mailing.mailings import selectors as selectors_mailings
from mailing.mailings import services as submission
from mailing.mailings.editor import CHIP_VARIABLES, MENU_LABELS, editable_body
from mailing.mailings.forms import (
    MailingForm,
    MailingTemplateForm,
    RecipientFilterForm,
    ScheduleForm,
)
from mailing.mailings.rendering import MailingRenderer
from mailing.mailings.templating import RenderLimitExceeded
from mailing.models import Mailing, MailingTemplate, Message
from mailing.sending_accounts import selectors
from mailing.sending_accounts.forms import AccountTestForm
from mailing.sms.accounts import SmsTestForm
from mailing.sms.compose import sms_compose, sms_mailing_test_send, sms_preview
from mailing.submission.selectors import submitted_preview
from mailing.tracking import dsn

SEND = "mailing.send_mailings"
TEMPLATES = "mailing.manage_templates"


def _visible_mailing(request, pk) -> Mailing:
    """Any mailing of an account the user may read; anything else is a 404."""
    return get_object_or_404(selectors_mailings.mailings_visible_to(request.user), pk=pk)


def _own_mailing(request, pk) -> Mailing:
    """Acting on a mailing needs the right to send from its account."""
    mailing = _visible_mailing(request, pk)
    if not selectors.accounts_user_may_use(request.user).filter(
            pk=mailing.account_id).exists():
        raise PermissionDenied
    return mailing


def _templates_for(user):
    templates = MailingTemplate.objects.all()
    if not user.has_perm(TEMPLATES):
        templates = templates.filter(profiles__isnull=True) | templates.filter(
            profiles=user.profile_id)
    return templates.distinct()


@permission_required(SEND)
def mailing_list(request):
    query = request.GET.get("q", "").strip()
    context = {"query": query}
    if query:
        context["page"] = Paginator(selectors_mailings.recipients_visible_to(
            request.user, search=query), 25).get_page(request.GET.get("page"))
    else:
        context["page"] = Paginator(selectors_mailings.mailings_visible_to(request.user),
                                    25).get_page(request.GET.get("page"))
    context["can_compose"] = selectors.accounts_user_may_send_from(request.user).exists()
    context["can_text"] = selectors.accounts_user_may_text_from(request.user).exists()
    context["replies_held"] = selectors.replies_held_visible_to(request.user).count()
    return render(request, "mailing/mailing_list.html", context)


@permission_required(SEND)
def mailing_compose(request, pk=None):
    mailing = _own_mailing(request, pk) if pk else None
    if mailing and mailing.status != Mailing.Status.DRAFT:
        return redirect("mailings:mailing_detail", mailing.pk)
    if mailing and mailing.is_sms:
        return sms_compose(request, mailing)
    initial = MailingForm.initial_from(mailing) if mailing else {}
    template = None
    if request.GET.get("template"):
        template = get_object_or_404(_templates_for(request.user), pk=request.GET["template"])
        initial.update(subject=template.subject,
                       body_html=editable_body(template.body_text, template.body_html))
    form = MailingForm(request.POST or None, request.FILES or None, initial=initial,
                       user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        mailing = submission.mailing_save_draft(
            mailing=mailing, user=request.user, account=data["account"], mode=data["mode"],
            subject=data["subject"], body_text="", body_html=data["body_html"],
            audience=form.audience(), uploads=data["attachments"],
            compose_token=data["compose_token"])
        return redirect("mailings:mailing_detail", mailing.pk)
    return render(request, "mailing/mailing_compose.html", {
        "form": form, "mailing": mailing, "templates": _templates_for(request.user),
        "chosen_template": template, "variables": _variables(),
        "chip_variables": CHIP_VARIABLES, "menu_labels": MENU_LABELS, "audience_errors": [
            error for name in ("classes", "students", "guardians", "users")
            for error in form[name].errors]})


def _variables():
    from mailing.mailings.templating import VARIABLES

    return VARIABLES


@permission_required(SEND)
def mailing_detail(request, pk):
    mailing = _visible_mailing(request, pk)
    if mailing.status in (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED):
        return _draft_page(request, mailing)
    filters = RecipientFilterForm(request.GET or None)
    status = search = reason = ""
    if filters.is_valid():
        status, search = filters.cleaned_data["status"], filters.cleaned_data["q"]
        reason = filters.cleaned_data["reason"]
    recipients = selectors_mailings.recipients_of(mailing, status=status, search=search,
                                                  reason=reason)
    query = request.GET.copy()
    query.pop("page", None)
    counts = selectors_mailings.mailing_counts(mailing)
    paginator = Paginator(recipients, 50)
    if not search and not reason:
        # The kept counts say how long the list is: no COUNT over the mailing's recipients.
        paginator.count = counts.get(status, 0) if status else counts["total"]
    return render(request, "mailing/mailing_detail.html", {
        "mailing": mailing, "counts": counts,
        "status_label": selectors_mailings.mailing_status_label(mailing, counts),
        "quota_wait": mailing.status in (Mailing.Status.QUEUED, Mailing.Status.SENDING)
        and waiting_for_quota(mailing.account),
        "page": paginator.get_page(request.GET.get("page")),
        "filters": filters, "query": query.urlencode(),
        "can_act": selectors.accounts_user_may_use(request.user).filter(
            pk=mailing.account_id).exists()})


def _preview_index(data) -> int:
    """Which recipient's message to preview or test: a bad value is the first, never a 500."""
    value = str(data.get("preview", "0"))
    return int(value) if value.isdigit() else 0


def _draft_page(request, mailing):
    plan = submission.mailing_plan(mailing)
    index = min(_preview_index(request.GET), max(len(plan.messages) - 1, 0))
    preview = None
    if plan.messages and mailing.is_sms:
        try:
            preview = {**sms_preview(mailing, plan.messages[index].context),
                       "recipients": plan.messages[index].recipients}
        except RenderLimitExceeded as problem:
            messages.error(request, str(problem))
    elif plan.messages:
        try:
            subject, text, html = MailingRenderer(mailing).render_parts(
                plan.messages[index].context)
        except RenderLimitExceeded as problem:  # the same caps as in the worker
            messages.error(request, str(problem))
        else:
            preview = {"subject": subject, "text": text, "html": html,
                       "recipients": plan.messages[index].recipients}
    choices = [(i, ", ".join(r.email for r in m.recipients[:3])
                + (f" (+{len(m.recipients) - 3})" if len(m.recipients) > 3 else ""))
               for i, m in enumerate(plan.messages[:200])]
    summary = plan.summary(mailing.mode, mailing.account.max_bcc_recipients)
    count = summary["messages"]
    return render(request, "mailing/mailing_draft.html", {
        "mailing": mailing, "plan": plan, "preview": preview, "index": index,
        "choices": choices, "test_form": SmsTestForm() if mailing.is_sms else AccountTestForm(
            initial={"to_email": request.user.email}),
        "schedule_form": ScheduleForm(initial={"send_at": mailing.scheduled_at and
                                               timezone.localtime(mailing.scheduled_at)}),
        "message_count": count, "quota_notes": quota_forecast(
            mailing.account, messages=count, recipients=sum(
                1 for m in plan.messages for r in m.recipients if not r.suppressed_reason))})


@require_POST
@permission_required(SEND)
def mailing_test(request, pk):
    mailing = _own_mailing(request, pk)
    form = (SmsTestForm if mailing.is_sms else AccountTestForm)(request.POST)
    if too_many("mailing-test-send", str(request.user.pk), limit=settings.MAILING_TEST_SEND_LIMIT,
                window=settings.MAILING_TEST_SEND_WINDOW):
        messages.error(request, _("You sent many test messages in a short time: wait a few "
                                  "minutes before sending another."))
    elif form.is_valid() and mailing.is_sms:
        outcome = sms_mailing_test_send(mailing=mailing, to_number=form.cleaned_data["to_number"],
                                        index=_preview_index(request.POST))
        if outcome.ok:
            messages.success(request, _("Test SMS sent. The provider answered: %(reply)s")
                             % {"reply": outcome.reply})
        else:
            messages.error(request, _("Test failed. The provider answered: %(reply)s")
                           % {"reply": outcome.reply})
    elif form.is_valid():
        try:
            outcome = submission.mailing_test_send(
                mailing=mailing, to_email=form.cleaned_data["to_email"],
                index=_preview_index(request.POST))
        except RenderLimitExceeded as problem:
            messages.error(request, str(problem))
            return redirect("mailings:mailing_detail", mailing.pk)
        if outcome.ok:
            messages.success(request, _("Test message sent. The server answered: %(reply)s")
                             % {"reply": outcome.server_reply})
        else:
            messages.error(request, _("Test failed. The server answered: %(reply)s")
                           % {"reply": outcome.server_reply})
    return redirect("mailings:mailing_detail", mailing.pk)


@require_POST
@permission_required(SEND)
def mailing_send(request, pk):
    mailing = _own_mailing(request, pk)
    try:
        submitted = submission.mailing_submit(mailing=mailing)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        if getattr(submitted, "enqueued", True):
            messages.success(request, _("The mailing is on its way."))
        else:
            messages.warning(request, _(
                "The mailing is saved and queued, but the queue service cannot be reached "
                "right now: it will leave by itself as soon as the service is back."))
    return redirect("mailings:mailing_detail", mailing.pk)


@require_POST
@permission_required(SEND)
def mailing_schedule(request, pk):
    mailing = _own_mailing(request, pk)
    form = ScheduleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors["send_at"][0])
        mailing = scheduling.mailing_schedule(mailing=mailing, at=form.cleaned_data["send_at"])
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("The mailing will leave by itself on %(when)s.") % {
            "when": date_format(timezone.localtime(mailing.scheduled_at), "DATETIME_FORMAT")})
    return redirect("mailings:mailing_detail", mailing.pk)


@require_POST
@permission_required(SEND)
def mailing_action(request, pk, action):
    mailing = _own_mailing(request, pk)
    cancelled = mailing.status == Mailing.Status.CANCELLED
    if action == "pause":
        submission.mailing_pause(mailing=mailing)
        messages.success(request, _("Mailing paused."))
    elif action == "resume":
        submission.mailing_resume(mailing=mailing)
        messages.success(request, _("Mailing resumed."))
    elif action == "cancel":
        count = submission.mailing_cancel(mailing=mailing)
        messages.success(request, ngettext(
            "Mailing cancelled: %(count)d message will not be sent. What had left is listed "
            "below.", "Mailing cancelled: %(count)d messages will not be sent. What had left "
            "is listed below.", count) % {"count": count})
    elif action == "unschedule":
        if scheduling.mailing_unschedule(mailing=mailing):
            messages.success(request, _("Schedule cancelled: the mailing is a draft again."))
    elif action == "retry":
        count = submission.mailing_retry_failed(mailing=mailing)
        if cancelled:
            text = ngettext("%(count)d failed recipient queued again; the mailing stays "
                            "cancelled for everyone else.", "%(count)d failed recipients "
                            "queued again; the mailing stays cancelled for everyone else.",
                            count)
        else:
            text = ngettext("%(count)d failed recipient queued again.",
                            "%(count)d failed recipients queued again.", count)
        messages.success(request, text % {"count": count})
    else:
        raise Http404
    return redirect("mailings:mailing_detail", mailing.pk)


@require_POST
@permission_required(SEND)
def message_resend(request, pk, message_pk):
    mailing = _own_mailing(request, pk)
    message = get_object_or_404(Message, pk=message_pk, mailing=mailing)
    if not submission.message_resend(message=message):
        messages.info(request, _("This message is no longer waiting for a decision."))
    elif mailing.status == Mailing.Status.CANCELLED:
        messages.success(request, _("The message will be sent again, with the same Message-ID; "
                                    "the mailing stays cancelled for everyone else."))
    else:
        messages.success(request, _("The message will be sent again, with the same Message-ID, "
                                    "so that a mailbox that already has it can recognise it."))
    return redirect("mailings:mailing_detail", mailing.pk)


@permission_required(SEND)
def mailing_progress(request, pk):
    mailing = _visible_mailing(request, pk)
    counts = selectors_mailings.mailing_counts(mailing)
    return JsonResponse({"status": mailing.status,
                         "status_label": selectors_mailings.mailing_status_label(mailing, counts),
                         "counts": counts, "paused_reason": mailing.account.paused_reason})


@permission_required(SEND)
def mailing_export(request, pk):
    """Every recipient as CSV, streamed: rows leave as they are read, so the web process's
    memory stays the same for 100 or 100,000 recipients."""
    mailing = _visible_mailing(request, pk)
    response = StreamingHttpResponse(export.csv_lines(mailing),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="mailing-{mailing.pk}.csv"'
    return response


@permission_required(SEND)
def message_detail(request, pk, message_pk):
    mailing = _visible_mailing(request, pk)
    message = get_object_or_404(Message.objects.prefetch_related("recipients"),
                                pk=message_pk, mailing=mailing)
    context = {"mailing": mailing, "message": message, "recipients": message.recipients.all()}
    if mailing.mode == Mailing.Mode.RELAYED:
        # Sent as the application wrote it, not rendered from a template: its subject and
        # text part are shown, never its HTML.
        context.update(subject=mailing.subject, submitted=submitted_preview(mailing))
        return render(request, "mailing/message_detail.html", context)
    if mailing.is_sms:
        context.update(subject=mailing.subject, **sms_preview(mailing, message.context))
        return render(request, "mailing/message_detail.html", context)
    try:
        subject, text, html = MailingRenderer(mailing).render_parts(message.context)
    except RenderLimitExceeded as problem:
        messages.error(request, str(problem))
        subject, text, html = "", "", ""
    context.update(subject=subject, text=text, html=html)
    return render(request, "mailing/message_detail.html", context)


# --- replies held by the hourly forwarding cap -----------------------------------------------

def _held_row(inbound) -> dict:
    headers = dsn.parse_message(bytes(inbound.raw).split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
    return {"inbound": inbound, "sender": str(headers.get("From", "")) or inbound.mail_from,
            "subject": str(headers.get("Subject", "")), "date": inbound.received_at}


@login_required
def replies_held(request):
    page = Paginator(selectors.replies_held_visible_to(request.user), 25).get_page(
        request.GET.get("page"))
    return render(request, "mailing/replies_held.html", {
        "page": page, "rows": [_held_row(inbound) for inbound in page]})


@login_required
def reply_held_raw(request, pk):
    """The reply exactly as received, as a .eml file: served as a download, never rendered
    (it is a stranger's content)."""
    inbound = get_object_or_404(selectors.replies_held_visible_to(request.user), pk=pk)
    response = HttpResponse(bytes(inbound.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="reply-{inbound.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- templates library -----------------------------------------------------------------------

@permission_required(SEND)
def template_list(request):
    return render(request, "mailing/template_list.html", {
        "templates": _templates_for(request.user).prefetch_related("profiles"),
        "can_manage": request.user.has_perm(TEMPLATES)})


@permission_required(TEMPLATES)
def template_edit(request, pk=None):
    template = get_object_or_404(MailingTemplate, pk=pk) if pk else None
    form = MailingTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        template = form.save(commit=False)
        template.created_by = template.created_by or request.user
        template.save()
        form.save_m2m()
        messages.success(request, _("Template saved."))
        return redirect("mailings:template_list")
    return render(request, "mailing/template_form.html", {
        "form": form, "template": template, "variables": _variables(),
        "chip_variables": CHIP_VARIABLES, "menu_labels": MENU_LABELS})


@require_POST
@permission_required(TEMPLATES)
def template_duplicate(request, pk):
    template = get_object_or_404(MailingTemplate, pk=pk)
    profiles = list(template.profiles.all())
    template.pk = None
    template.name = _("%(name)s (copy)") % {"name": template.name}
    template.save()
    template.profiles.set(profiles)
    messages.success(request, _("Template duplicated."))
    return redirect("mailings:template_edit", template.pk)


@require_POST
@permission_required(TEMPLATES)
def template_delete(request, pk):
    get_object_or_404(MailingTemplate, pk=pk).delete()
    messages.success(request, _("Template deleted."))
    return redirect("mailings:template_list")
