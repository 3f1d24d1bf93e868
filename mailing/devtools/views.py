"""The development mail catcher in the browser, for logged-in staff only."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from eduka.decorators import staff_required
from mailing.devtools import catcher


def _catcher_folder():
    # Development only: the URLs are not even routed without a catcher folder (see urls.py).
    if not settings.MAIL_CATCHER_DIR:
        raise Http404
    return settings.MAIL_CATCHER_DIR


@staff_required
def mail_catcher_list(request):
    mails = catcher.caught_mail_list(_catcher_folder())
    return render(request, "mailing/catcher_list.html", {"mails": mails})


@staff_required
def mail_catcher_detail(request, message_id):
    mail = catcher.caught_mail_get(_catcher_folder(), message_id)
    if mail is None:
        raise Http404
    return render(request, "mailing/catcher_detail.html", {"mail": mail,
                                                           "headers": mail.message.items()})


@staff_required
def mail_catcher_raw(request, message_id):
    mail = catcher.caught_mail_get(_catcher_folder(), message_id)
    if mail is None:
        raise Http404
    return HttpResponse(mail.raw, content_type="text/plain; charset=utf-8")


@staff_required
def mail_catcher_attachment(request, message_id, index):
    mail = catcher.caught_mail_get(_catcher_folder(), message_id)
    part = mail.attachment(index) if mail else None
    if part is None:
        raise Http404
    response = HttpResponse(part.get_payload(decode=True) or b"",
                            content_type="application/octet-stream")
    # Always a download, never rendered in the app's origin.
    filename = (part.get_filename() or f"attachment-{index}").replace('"', "")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@staff_required
def mail_catcher_clear(request):
    removed = catcher.caught_mail_clear(_catcher_folder())
    messages.success(request, ngettext("%(count)d message deleted.", "%(count)d messages deleted.",
                                       removed) % {"count": removed})
    return redirect("mail_catcher:list")
