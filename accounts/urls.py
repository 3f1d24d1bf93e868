"""URLs of login, password reset, sign-up, e-mail change and user management."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/sent/", views.password_reset_done, name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("users/<int:pk>/reset/", views.user_send_reset, name="user_send_reset"),
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_sent, name="signup_sent"),
    path("signup/validate/<str:token>/", views.signup_validate, name="signup_validate"),
    path("signup/confirm/", views.signup_confirm, name="signup_confirm"),
    path("signup/invalid/", views.signup_invalid, name="signup_invalid"),
    path("email/", views.email_change, name="email_change"),
    path("email/sent/", views.email_change_sent, name="email_change_sent"),
    path("email/validate/<str:token>/", views.email_change_validate,
         name="email_change_validate"),
    path("email/confirm/", views.email_change_confirm, name="email_change_confirm"),
    path("email/invalid/", views.email_change_invalid, name="email_change_invalid"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/password/", views.user_set_password, name="user_set_password"),
    path("users/<int:pk>/active/", views.user_set_active, name="user_set_active"),
    path("profiles/", views.profile_list, name="profile_list"),
]
