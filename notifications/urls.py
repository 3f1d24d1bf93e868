"""URLs of the alert subscriptions, unsubscribe links and contact messages."""

from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("contact/", views.contact, name="contact"),
    path("contact/messages/", views.contact_list, name="contact_list"),
    path("alerts/", views.subscription_list, name="subscription_list"),
    path("alerts/<int:pk>/delete/", views.subscription_delete,
         name="subscription_delete"),
    path("alerts/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
