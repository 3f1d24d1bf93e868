"""The site's URL map: each app's screens under its own prefix."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from accounts.views import home
from mailing.sms.receipts import sms_receipts

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("school/", include("school.urls")),
    path("portal/", include("school.urls_portal")),
    path("configuration/", include("mailing.sending_accounts.urls")),
    path("emails/", include("mailing.mailings.urls")),
    path("", include("notifications.urls")),
    # Called by SMS providers, not people: the account and its secret name the URL.
    path("sms/<int:account_id>/<str:token>/receipts/", sms_receipts, name="sms_receipts"),
    path("i18n/", include("django.conf.urls.i18n")),
    # The body editor's dialogs (django-prose-editor) say their words through gettext in
    # JavaScript: its own French catalogue, completed by ours (locale/fr/…/djangojs.po).
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_prose_editor"]),
         name="javascript-catalog"),
    # The Django admin is a tool for the platform's operators, not the schools' interface.
    path("ops/admin/", admin.site.urls),
]

if settings.MAIL_CATCHER_DIR:
    urlpatterns.append(path("dev/mail/", include("mailing.devtools.urls")))
