"""`migrate`, run as the owner role; then the runtime role is granted its privileges (finops.dbsetup)."""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from finops import dbsetup


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Runs as the database owner role, then grants the runtime role its DML."

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        with dbsetup.as_owner(connection):
            super().handle(*args, **options)
            dbsetup.grant_runtime_privileges(connection)
