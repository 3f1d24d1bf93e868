"""URLs of Configuration: sending accounts, automated e-mails, suppressed addresses."""

from django.urls import path

from mailing.automated import views as views_system_mail
from mailing.sending_accounts import views
from mailing.sending_accounts.oauth import views as views_oauth
from mailing.sms import views as sms_views
from mailing.submission import views as views_applications
from mailing.tracking import views as views_suppression

app_name = "mailing"
urlpatterns = [
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/new-sms/", sms_views.sms_account_create, name="sms_account_create"),
    path("accounts/<int:pk>/", views.account_edit, name="account_edit"),
    path("accounts/<int:pk>/users/", views.account_users, name="account_users"),
    path("accounts/<int:pk>/test/", views.account_test, name="account_test"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="account_delete"),
    path("accounts/<int:pk>/resume/", views.account_resume, name="account_resume"),
    path("accounts/<int:pk>/oauth/<slug:provider_key>/", views_oauth.account_oauth_start,
         name="account_oauth_start"),
    # The one redirect URI registered at Microsoft and Google (see the README).
    path("accounts/oauth/callback/", views_oauth.account_oauth_callback,
         name="account_oauth_callback"),
    path("accounts/<int:pk>/applications/new/",
         views_applications.application_access_create, name="application_access_create"),
    path("accounts/<int:pk>/applications/<int:access_pk>/revoke/",
         views_applications.application_access_revoke, name="application_access_revoke"),
    path("users/<int:user_pk>/accounts/", views.user_accounts, name="user_accounts"),
    path("automated-emails/", views_system_mail.system_mail_list, name="system_mail_list"),
    path("automated-emails/<slug:key>/<slug:language>/", views_system_mail.system_mail_edit,
         name="system_mail_edit"),
    path("automated-emails/<slug:key>/<slug:language>/restore/",
         views_system_mail.system_mail_restore, name="system_mail_restore"),
    path("suppressed/", views_suppression.suppressed_list, name="suppressed_list"),
    path("suppressed/<int:pk>/remove/", views_suppression.suppressed_remove,
         name="suppressed_remove"),
]
