"""Django admin of the school data, for the platform operators."""

from django.contrib import admin

from .models import EnrolmentRequest, Guardian, School, SchoolClass, Student


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_email"]


@admin.register(SchoolClass)
class SchoolClassAdmin(admin.ModelAdmin):
    list_display = ["name", "level"]
    search_fields = ["name"]


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "school_class"]
    list_filter = ["school_class"]
    search_fields = ["last_name", "first_name"]
    autocomplete_fields = ["guardians"]


@admin.register(Guardian)
class GuardianAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "email", "phone"]
    search_fields = ["last_name", "first_name", "email"]
    raw_id_fields = ["user"]


@admin.register(EnrolmentRequest)
class EnrolmentRequestAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "guardian", "requested_class", "status",
                    "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["guardian", "student", "decided_by"]
