from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("contact/", views.contact, name="contact"),
    path("contact/messages/", views.contact_list, name="contact_list"),
]
