"""URLs of the parent portal (always the logged-in parent's own record)."""

from django.urls import path

from . import views_portal

app_name = "portal"
urlpatterns = [
    path("", views_portal.portal_home, name="home"),
    path("details/", views_portal.portal_details, name="details"),
    path("enrolments/new/", views_portal.portal_enrolment_create, name="enrolment_create"),
]
