"""`flush` empties every table with TRUNCATE, which only the owner role may do (finops.dbsetup)."""

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections

from finops import dbsetup


class Command(DjangoFlush):
    def handle(self, **options):
        with dbsetup.as_owner(connections[options["database"]]):
            super().handle(**options)
