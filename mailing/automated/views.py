"""Configuration > E-mails automatiques: administrators reword the System account's mail."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required
from mailing.automated import catalogue as system_templates
from mailing.mailings.templating import RenderLimitExceeded
from mailing.models import SystemMailTemplate

MANAGE = "mailing.manage_sending_accounts"


class SystemMailForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=250)
    body_text = forms.CharField(label=gettext_lazy("Text"), widget=forms.Textarea(
        attrs={"rows": 18}))

    def __init__(self, *args, key: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.key = key

    def clean(self):
        cleaned = super().clean()
        if "subject" in cleaned and "body_text" in cleaned:
            for problem in system_templates.source_errors(self.key, cleaned["subject"],
                                                          cleaned["body_text"]):
                self.add_error(None, problem)
        return cleaned


def _mail_or_404(key: str, language: str) -> system_templates.SystemMail:
    if key not in system_templates.SYSTEM_MAILS or language not in dict(settings.LANGUAGES):
        raise Http404
    return system_templates.SYSTEM_MAILS[key]


@permission_required(MANAGE)
def system_mail_list(request):
    customised = set(SystemMailTemplate.objects.values_list("key", "language"))
    rows = [{"mail": mail, "languages": [
        {"code": code, "name": name, "customised": (mail.key, code) in customised}
        for code, name in settings.LANGUAGES]}
        for mail in system_templates.SYSTEM_MAILS.values()]
    return render(request, "mailing/system_mail_list.html", {"rows": rows})


@permission_required(MANAGE)
def system_mail_edit(request, key, language):
    mail = _mail_or_404(key, language)
    subject, body, customised = system_templates.current_source(key, language)
    form = SystemMailForm(request.POST or None, key=key,
                          initial={"subject": subject, "body_text": body})
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "preview" in request.POST:
            preview = _preview(request, key, data["subject"], data["body_text"])
        else:
            SystemMailTemplate.objects.update_or_create(
                key=key, language=language, defaults={
                    "subject": data["subject"], "body_text": data["body_text"],
                    "updated_by": request.user})
            messages.success(request, _("The e-mail “%(mail)s” was saved.") % {
                "mail": mail.label})
            return redirect("mailing:system_mail_list")
    elif request.method == "GET":
        problems = system_templates.source_errors(key, subject, body)
        if problems:  # a saved wording an upgrade made invalid: show why, let them fix it
            form = SystemMailForm({"subject": subject, "body_text": body}, key=key)
            form.is_valid()
        else:
            preview = _preview(request, key, subject, body)
    return render(request, "mailing/system_mail_form.html", {
        "mail": mail, "form": form, "language": dict(settings.LANGUAGES)[language],
        "language_code": language, "customised": customised, "preview": preview,
        "variables": mail.all_variables, "lists": mail.lists})


def _preview(request, key, subject, body):
    """(subject, text) for the sample context, or None with the reason shown: previews obey
    the render caps the sending does."""
    try:
        return system_templates.render_sources(key, subject, body,
                                               system_templates.sample_context(key))
    except RenderLimitExceeded as problem:
        messages.error(request, str(problem))
        return None


@require_POST
@permission_required(MANAGE)
def system_mail_restore(request, key, language):
    mail = _mail_or_404(key, language)
    SystemMailTemplate.objects.filter(key=key, language=language).delete()
    messages.success(request, _("The e-mail “%(mail)s” is back to its default wording.") % {
        "mail": mail.label})
    return redirect("mailing:system_mail_edit", key, language)
