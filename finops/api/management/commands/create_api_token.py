"""`manage.py create_api_token --org SLUG --name NAME --scopes read,write [--user EMAIL] [--expires DATE]`.

The same service and checks as Settings → API tokens; the token acts as `--user` (default: the
organisation's first admin). Prints what it made, then the token alone on its last line (shown
this once: it is stored hashed). A refusal goes to stderr and exits with status 1."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from finops.api.tokens import expiry_after, token_create
from finops.errors import DomainError
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership, Organization
from finops.tenancy.permissions import Role


class Command(BaseCommand):
    help = "Create an organisation API token and print it (once)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--name", required=True, help="what will use it, e.g. 'warehouse sync'")
        parser.add_argument("--scopes", default="read", help="comma-separated: read, write (default read)")
        parser.add_argument("--user", default="", help="e-mail of the member it acts as (default: the first admin)")
        parser.add_argument("--expires", default="", help="YYYY-MM-DD: the last day it works (default: never expires)")

    def handle(self, *args, org: str, name: str, scopes: str, user: str, expires: str, **options):
        tenant = Organization.objects.filter(slug=org).first()
        if tenant is None:
            raise CommandError(f"No organisation has the slug {org!r}.")
        with tenant_context(tenant):
            members = Membership.objects.select_related("user").filter(organization_id=tenant.pk).order_by("id")
            member = (members.filter(user__email__iexact=user) if user else members.filter(role=Role.ADMIN)).first()
        if member is None:
            raise CommandError(f"{user} is not a member of {org}." if user else f"{org} has no admin to act as: "
                               "give --user EMAIL of a member.")
        expires_at = None
        if expires:
            try:
                day = datetime.strptime(expires, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError(f"--expires {expires!r} is not a date (YYYY-MM-DD).") from None
            expires_at = expiry_after(day)
        try:
            issued = token_create(tenant=tenant, actor=None, name=name, user=member.user,
                                  scopes=scopes.split(","), expires_at=expires_at)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        token = issued.token
        self.stdout.write(f"Created API token “{token.name}” for {tenant.slug}: acts as {member.user.email} "
                          f"({member.role}), scopes {', '.join(token.scopes)}"
                          + (f", expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "") + ".")
        self.stdout.write("Keep it now; it is not shown again:")
        self.stdout.write(issued.secret)
