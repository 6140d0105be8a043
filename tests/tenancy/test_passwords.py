"""Production hashes passwords with Argon2; the suite hashes with MD5 (tests/conftest.py) for speed."""

from __future__ import annotations

import pytest
from django.test import override_settings

from finops import settings as production
from finops.tenancy import services as tenancy

pytestmark = pytest.mark.django_db


def test_production_settings_hash_new_passwords_with_argon2():
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.MD5PasswordHasher" not in production.PASSWORD_HASHERS
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        user = tenancy.user_get_or_create(email="argon@example.test", password="a long enough passphrase")
        assert user.password.startswith("argon2$argon2id$")
        assert user.check_password("a long enough passphrase")
        assert not user.check_password("a long enough passphrase!")


def test_the_suite_hashes_with_md5_and_still_checks_argon2_hashes_made_by_production():
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        made_by_production = tenancy.user_get_or_create(email="argon@example.test", password="passphrase one")
    assert made_by_production.check_password("passphrase one")
    quick = tenancy.user_get_or_create(email="md5@example.test", password="passphrase two")
    assert quick.password.startswith("md5$")
