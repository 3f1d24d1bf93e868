"""URLs of the development mail catcher (routed only with MAIL_CATCHER_DIR)."""

from django.urls import path

from mailing.devtools import views

app_name = "mail_catcher"
urlpatterns = [
    path("", views.mail_catcher_list, name="list"),
    path("clear/", views.mail_catcher_clear, name="clear"),
    path("<str:message_id>/", views.mail_catcher_detail, name="detail"),
    path("<str:message_id>/raw/", views.mail_catcher_raw, name="raw"),
    path("<str:message_id>/attachments/<int:index>/", views.mail_catcher_attachment,
         name="attachment"),
]
