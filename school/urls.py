"""URLs of the staff screens on school data."""

from django.urls import path

from . import views

app_name = "school"
urlpatterns = [
    path("classes/", views.class_list, name="class_list"),
    path("classes/new/", views.class_create, name="class_create"),
    path("classes/<int:pk>/", views.class_detail, name="class_detail"),
    path("classes/<int:pk>/edit/", views.class_edit, name="class_edit"),
    path("classes/<int:pk>/move/", views.class_move_students, name="class_move_students"),
    path("students/", views.student_list, name="student_list"),
    path("students/new/", views.student_create, name="student_create"),
    path("students/<int:pk>/", views.student_detail, name="student_detail"),
    path("students/<int:pk>/edit/", views.student_edit, name="student_edit"),
    path("guardians/", views.guardian_list, name="guardian_list"),
    path("guardians/new/", views.guardian_create, name="guardian_create"),
    path("guardians/<int:pk>/", views.guardian_detail, name="guardian_detail"),
    path("guardians/<int:pk>/edit/", views.guardian_edit, name="guardian_edit"),
    path("enrolments/", views.enrolment_list, name="enrolment_list"),
    path("enrolments/<int:pk>/", views.enrolment_detail, name="enrolment_detail"),
    path("enrolments/<int:pk>/accept/", views.enrolment_accept, name="enrolment_accept"),
    path("enrolments/<int:pk>/refuse/", views.enrolment_refuse, name="enrolment_refuse"),
    path("school/", views.school_edit, name="school_edit"),
]
