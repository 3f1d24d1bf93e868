"""URLs of the E-mails module."""

from django.urls import path

from mailing.mailings import views, views_live
from mailing.sms.compose import sms_compose

app_name = "mailings"
urlpatterns = [
    path("", views.mailing_list, name="mailing_list"),
    path("new/", views.mailing_compose, name="mailing_compose"),
    path("sms/new/", sms_compose, name="sms_compose"),
    path("audience-count/", views_live.mailing_audience_count, name="mailing_audience_count"),
    path("audience-search/", views_live.mailing_audience_search,
         name="mailing_audience_search"),
    path("compose-preview/", views_live.mailing_compose_preview,
         name="mailing_compose_preview"),
    path("<int:pk>/", views.mailing_detail, name="mailing_detail"),
    path("<int:pk>/edit/", views.mailing_compose, name="mailing_edit"),
    path("<int:pk>/test/", views.mailing_test, name="mailing_test"),
    path("<int:pk>/send/", views.mailing_send, name="mailing_send"),
    path("<int:pk>/schedule/", views.mailing_schedule, name="mailing_schedule"),
    path("<int:pk>/progress/", views.mailing_progress, name="mailing_progress"),
    path("<int:pk>/picture/", views_live.mailing_picture, name="mailing_picture"),
    path("<int:pk>/export.csv", views.mailing_export, name="mailing_export"),
    path("<int:pk>/messages/<int:message_pk>/", views.message_detail, name="message_detail"),
    path("<int:pk>/messages/<int:message_pk>/resend/", views.message_resend,
         name="message_resend"),
    path("<int:pk>/<str:action>/", views.mailing_action, name="mailing_action"),
    path("replies-held/", views.replies_held, name="replies_held"),
    path("replies-held/<int:pk>.eml", views.reply_held_raw, name="reply_held_raw"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/new/", views.template_edit, name="template_create"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/<int:pk>/duplicate/", views.template_duplicate, name="template_duplicate"),
    path("templates/<int:pk>/delete/", views.template_delete, name="template_delete"),
]
