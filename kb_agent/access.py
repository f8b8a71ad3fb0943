"""Who is asking: the principal every knowledge-base query is made on behalf of.

Access groups travel with every chunk, fact row and table row; stores filter by
``Principal.groups`` inside their search so nothing a user may not see ever leaves a store.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EVERYONE = "everyone"


@dataclass(frozen=True)
class Principal:
    name: str
    groups: frozenset[str] = field(default_factory=lambda: frozenset({EVERYONE}))
    is_admin: bool = False

    def can_see(self, access_groups: tuple[str, ...] | frozenset[str] | list[str]) -> bool:
        """True if any of the item's groups is one of ours (admins see everything). An item
        with no groups is visible to admins only: every loader rejects an empty group list, and
        should one slip through anyway, it must not mean "everyone"."""
        if self.is_admin:
            return True
        return bool(set(access_groups or ()) & (self.groups | {EVERYONE}))


#: The local user of the CLI and of single-user mode: sees what an admin sees.
LOCAL_ADMIN = Principal(name="local", groups=frozenset({EVERYONE}), is_admin=True)
#: An employee with no extra groups.
EMPLOYEE = Principal(name="employee", groups=frozenset({EVERYONE}), is_admin=False)
