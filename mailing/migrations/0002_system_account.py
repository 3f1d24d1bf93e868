from django.db import migrations


def create_system_account(apps, schema_editor):
    SendingAccount = apps.get_model("mailing", "SendingAccount")
    # "Not configured" until an administrator sets it up; never deleted.
    SendingAccount.objects.get_or_create(is_system=True, defaults={"name": "Système", "kind": ""})


class Migration(migrations.Migration):
    dependencies = [("mailing", "0001_sending_accounts")]

    operations = [migrations.RunPython(create_system_account, migrations.RunPython.noop)]
