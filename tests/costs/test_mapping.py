"""Mapping rules, as a pure function of an item's attributes: priority, the first rule that names
a cost center and the first that names an account, patterns, tags, sub-accounts, a generic
file's own codes, and what stays unallocated. Then the rules' service: what it refuses."""

from __future__ import annotations

from datetime import date

import pytest

from costs.mapping import GroupKey, Mapped, Mapper, pattern_compile
from costs.models import MappingRule
from costs.services import mapping_rule_save
from finops.errors import DomainError, NotAllowed

CC = {"OPS": 1, "ENG": 2, "DATA": 3}
ACCOUNTS = {"6200": 20, "6300": 30}


def rule(pk, priority=100, cost_center_id=None, account_id=None, **match) -> MappingRule:
    return MappingRule(pk=pk, priority=priority, name=f"rule {pk}", cost_center_id=cost_center_id,
                       account_id=account_id, **match)


def key(provider="AWS", service="Amazon EC2", category="Usage", sub_account_id="", sub_account_name="",
        cost_center_code="", account_code="", tags=()) -> GroupKey:
    return GroupKey(date(2025, 4, 1), "USD", provider, service, category, sub_account_id, sub_account_name,
                    cost_center_code, account_code, tuple(tags))


def mapper(*rules) -> Mapper:
    return Mapper(list(rules), cost_centers=CC, accounts=ACCOUNTS)


def test_the_lowest_priority_matching_rule_wins_and_ties_go_to_the_older_rule():
    m = mapper(rule(3, priority=50, cost_center_id=3, account_id=30, service="Amazon EC2"),
               rule(1, priority=100, cost_center_id=1, account_id=20, provider="AWS"),
               rule(2, priority=50, cost_center_id=2, account_id=20, provider="AWS"))

    assert m.map(key()) == Mapped(2, 20, 2, 2)
    assert m.map(key(service="Amazon S3")) == Mapped(2, 20, 2, 2)
    assert m.map(key(provider="Azure", service="Amazon EC2")) == Mapped(3, 30, 3, 3)
    assert m.map(key(provider="Azure", service="Blob")) == Mapped(None, None)


def test_a_broad_rule_can_give_the_account_and_a_narrower_one_the_cost_center():
    m = mapper(rule(1, priority=10, cost_center_id=3, tag_key="team", tag_value="data"),
               rule(2, priority=20, account_id=30, provider="AWS"))

    assert m.map(key(tags=[("team", "data")])) == Mapped(3, 30, 1, 2)
    assert m.map(key(tags=[("team", "web")])) == Mapped(None, 30, None, 2)
    assert not m.map(key(tags=[("team", "web")])).allocated


def test_patterns_ignore_case_and_a_star_stands_for_any_text():
    m = mapper(rule(1, cost_center_id=2, account_id=30, provider="amazon*", service="*compute*"))

    assert m.map(key(provider="Amazon Web Services", service="Elastic Compute Cloud")).allocated
    assert m.map(key(provider="AMAZON", service="compute")).allocated
    assert not m.map(key(provider="Not Amazon", service="compute")).allocated
    assert pattern_compile("") is None and pattern_compile(" * ") is None
    assert pattern_compile("a.b").fullmatch("a.b") and not pattern_compile("a.b").fullmatch("axb")  # no regex


def test_a_tag_rule_matches_the_tags_value_or_with_no_value_any_item_carrying_the_tag():
    m = mapper(rule(1, priority=1, cost_center_id=3, tag_key="team", tag_value="data*"),
               rule(2, priority=2, cost_center_id=2, tag_key="team"),
               rule(3, priority=3, cost_center_id=1, tag_key="env", tag_value="prod"))

    assert m.tag_keys == ["env", "team"]
    assert m.map(key(tags=[("env", None), ("team", "data-platform")])).cost_center_id == 3
    assert m.map(key(tags=[("env", "prod"), ("team", "web")])).cost_center_id == 2
    assert m.map(key(tags=[("env", "prod"), ("team", None)])).cost_center_id == 1
    assert m.map(key(tags=[("env", None), ("team", None)])).cost_center_id is None


def test_a_sub_account_rule_matches_its_id_or_its_name_and_a_category_rule_its_category():
    m = mapper(rule(1, cost_center_id=2, sub_account="1234-5678"), rule(2, account_id=20, charge_category="Tax"))

    assert m.map(key(sub_account_id="1234-5678")).cost_center_id == 2
    assert m.map(key(sub_account_id="9", sub_account_name="1234-5678")).cost_center_id == 2
    assert m.map(key(sub_account_id="9", sub_account_name="prod")).cost_center_id is None
    assert m.map(key(category="Tax")).account_id == 20
    assert m.map(key(category="Usage")).account_id is None


def test_a_generic_files_own_codes_count_where_no_rule_decides_and_unknown_codes_stay_unallocated():
    m = mapper(rule(1, cost_center_id=3, provider="Hetzner"))

    assert m.map(key(provider="Figma", cost_center_code="ops", account_code="6200")) == Mapped(1, 20)
    assert m.map(key(provider="Hetzner", cost_center_code="OPS", account_code="6300")) == Mapped(3, 30, 1, None)
    assert m.map(key(provider="Figma", cost_center_code="NOPE", account_code="9999")) == Mapped(None, None)


def test_inactive_rules_map_nothing():
    inactive = rule(1, cost_center_id=1, account_id=20, provider="AWS")
    inactive.active = False
    assert mapper(inactive).map(key()) == Mapped(None, None)


# --- the service -------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "message"), [
    ({"name": ""}, "Give the rule a name."),
    ({"provider": ""}, "Say what the rule matches: a provider, a service, a charge category, a sub-account or a tag."),
    ({"tag_value": "x"}, "A tag value needs the tag's key."),
    ({"charge_category": "Fee"}, "Unknown charge category “Fee”: choose one of Usage, Purchase, Tax, Credit, Adjustment."),
    ({"priority": -1}, "The priority is a whole number from 0 to 1,000,000 (lower is tried first)."),
    ({"provider": "x" * 201}, "The provider has 201 characters; at most 200 are allowed."),
])
def test_a_rule_that_cannot_work_is_refused_with_what_to_fix(books, fields, message):
    values = {"name": "AWS", "provider": "AWS", "cost_center": books.ops, "account": books.software, **fields}
    with pytest.raises(DomainError) as refused:
        mapping_rule_save(tenant=books.org, actor=None, **values)
    assert refused.value.message == message


def test_a_rule_maps_somewhere_to_an_expense_account_of_its_own_organisation(books, other_books):
    with pytest.raises(DomainError, match=r"^Say where the rule maps to: a cost center, an account or both\.$"):
        mapping_rule_save(tenant=books.org, actor=None, name="AWS", provider="AWS")
    with pytest.raises(DomainError, match=r"^The rule's account must be an expense account; 2000 · Accounts payable is liability\.$"):
        mapping_rule_save(tenant=books.org, actor=None, name="AWS", provider="AWS", account=books.payable)
    with pytest.raises(DomainError, match=r"^Unknown cost center or account\.$"):
        mapping_rule_save(tenant=books.org, actor=None, name="AWS", provider="AWS", cost_center=other_books.ops)


@pytest.mark.parametrize("role", ["director", "viewer"])
def test_only_roles_that_change_the_books_may_write_rules(books, users, role):
    with pytest.raises(NotAllowed):
        mapping_rule_save(tenant=books.org, actor=users[role], name="AWS", provider="AWS", cost_center=books.ops)
