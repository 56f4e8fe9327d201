"""Encrypt the two-factor secrets that allauth stored in clear before MFAAdapter existed."""

from django.db import migrations


def encrypt(apps, schema_editor):
    from portevoix.core import twofactor

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all().only("pk", "data"):
        data = twofactor.map_secrets(authenticator.data or {}, twofactor.encrypt_if_clear)
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def decrypt(apps, schema_editor):
    from portevoix.core import twofactor

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all().only("pk", "data"):
        data = twofactor.map_secrets(authenticator.data or {}, twofactor.decrypt_if_encrypted)
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_audit_language_neutral"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt, decrypt, elidable=False)]
