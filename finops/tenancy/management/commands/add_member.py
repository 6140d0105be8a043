"""`manage.py add_member EMAIL --org SLUG --role ROLE [--password PASSWORD]`.

Creates the user if needed (without a password unless one is given: they can then use "forgot
password"), and adds them to the organisation or changes their role, through the same services
as the members page, so the last admin is protected and the change is audited.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from finops.errors import DomainError
from finops.tenancy.models import Organization
from finops.tenancy.permissions import Role
from finops.tenancy.services import member_add, user_get_or_create


class Command(BaseCommand):
    help = "Add a user to an organisation with a role (creating the user if needed)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--org", required=True, metavar="SLUG")
        parser.add_argument("--role", required=True, help=f"one of {', '.join(Role.values)}")
        parser.add_argument("--password", default=None, help="set this password (otherwise: unchanged / unusable)")

    def handle(self, *args, email: str, org: str, role: str, password: str | None, **options):
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an e-mail address.") from None
        role = role.strip().lower()
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation with slug {org!r}.")
        existing = get_user_model().objects.filter(email__iexact=email).first()
        if password is not None:
            try:
                validate_password(password, user=existing)
            except ValidationError as exc:
                raise CommandError("The password is refused: " + " ".join(exc.messages)) from None
        try:
            with transaction.atomic():
                user = user_get_or_create(email=email, password=password)
                membership = member_add(tenant=organization, actor=None, user=user, role=role)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        who = "new user" if existing is None else "user"
        self.stdout.write(self.style.SUCCESS(f"{who} {user.email} is {membership.role} of {organization.name}."))
        if existing is None and password is None:
            self.stdout.write("They have no password yet: they can set one with “Forgot password?” on the sign-in page.")
