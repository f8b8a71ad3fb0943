"""The principal's visibility rule, the one every store's filter comes down to."""

from kb_agent.access import EMPLOYEE, LOCAL_ADMIN, Principal


def test_groups_decide_and_everyone_is_in_everyone():
    fiona = Principal("fiona", frozenset({"everyone", "finance"}))
    assert EMPLOYEE.can_see(["everyone"]) and fiona.can_see(("finance", "hr"))
    assert not EMPLOYEE.can_see(["finance"]) and LOCAL_ADMIN.can_see(["finance"])


def test_an_item_without_groups_is_for_admins_only():
    for empty in ([], (), frozenset(), None):
        assert not EMPLOYEE.can_see(empty)
        assert LOCAL_ADMIN.can_see(empty)
