from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/sent/", views.password_reset_done, name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("password/reset/done/", views.password_reset_complete, name="password_reset_complete"),
    path("password/sms/", views.password_reset_sms, name="password_reset_sms"),
    path("password/sms/confirm/", views.password_reset_sms_confirm, name="password_reset_sms_confirm"),
    path("2fa/", views.two_factor, name="two_factor"),
    path("register/", views.register, name="register"),
    path("bind/", views.bind, name="bind"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
