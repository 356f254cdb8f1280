from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "schoolbridge.accounts"
    label = "accounts"
