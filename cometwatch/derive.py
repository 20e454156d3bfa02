"""Pure: the events one entry gives between the parent tree and the commit tree (contract §2)."""

from __future__ import annotations

from typing import NamedTuple

CREATED = "content.created"
UPDATED = "content.updated"
PUBLISHED = "content.published"
UNPUBLISHED = "content.unpublished"
DELETED = "content.deleted"
RESTORED = "content.restored"


class Side(NamedTuple):
    """An entry as one tree holds it."""

    trashed: bool
    published: bool


def event_names(old: Side | None, new: Side | None, *, restored: bool = False,
                changed: bool = True) -> tuple[str, ...]:
    """The events, in order, for an entry going from `old` to `new` (None: absent).

    `restored`: a new file brings back an entry deleted earlier. `changed`: content or path
    differ (a mode-only change is not a save of the entry).
    """
    if new is None or new.trashed:
        if old is None or old.trashed:
            return ()  # created in trash, moved within it, removed from it
        return (UNPUBLISHED, DELETED) if old.published else (DELETED,)
    tail = (PUBLISHED,) if new.published else ()
    if old is None:
        return (RESTORED if restored else CREATED, *tail)
    if old.trashed:
        return (RESTORED, *tail)
    if not changed:
        return ()
    if old.published == new.published:
        return (UPDATED,)
    return (UPDATED, PUBLISHED if new.published else UNPUBLISHED)


def transition(old_published: bool, new_published: bool) -> tuple[str, ...]:
    """A scheduled date passing between saves."""
    if old_published == new_published:
        return ()
    return (PUBLISHED,) if new_published else (UNPUBLISHED,)
