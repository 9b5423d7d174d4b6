"""The Catalog table: per-app bookkeeping that concurrent writers meet on (names, caps, user sets)."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.models import Model

ATTRIBUTES_ENTRY = "$attrs"
USER_ENTRY = "$user#"
RECORDS_ENTRY = "$records"


class CatalogItem(Model):
    """Per-app bookkeeping that concurrent writers meet on (docs/decisions.md, "Concurrency model").

    - ``<kind>#<name>``: one name of a catalogue (event types);
    - ``$attrs``: the app's endpoint attribute names (``<type>#<name>`` in ``names``), one item so the
      250-name cap is one conditional ``ADD`` on ``size(names)``;
    - ``$user#<user id>``: the endpoint keys of one user (``names``) and a ``version``, so the
      15-endpoint cap is a condition every writer for that user meets;
    - ``$records``: present once the app is known to hold no endpoint from before user records (it was
      empty when an endpoint writer looked), so a user without a record has no endpoints to look up.
    """

    class Meta:
        table_name = "catalog"

    application_id = UnicodeAttribute(hash_key=True)
    entry = UnicodeAttribute(range_key=True)  # "<kind>#<name>", "$attrs" or "$user#<user id>"
    names = UnicodeSetAttribute(null=True)
    version = NumberAttribute(null=True)


def user_entry(user_id: str) -> str:
    return f"{USER_ENTRY}{user_id}"


class CatalogRepository:
    """Per-app name catalogue; entries are ``<kind>#<name>``."""

    def names(self, app_id: str, kind_prefix: str) -> set[str]:
        condition = CatalogItem.entry.startswith(kind_prefix) if kind_prefix else None
        return {i.entry for i in CatalogItem.query(app_id, condition)}

    def add(self, app_id: str, entries: Iterable[str]) -> None:
        with CatalogItem.batch_write() as batch:
            for entry in entries:
                batch.save(CatalogItem(app_id, entry))

    def remove(self, app_id: str, entries: Iterable[str]) -> None:
        with CatalogItem.batch_write() as batch:
            for entry in entries:
                batch.delete(CatalogItem(app_id, entry))

    def attribute_names(self, app_id: str) -> set[str]:
        """The app's endpoint attribute names, ``<type>#<name>`` (strongly consistent: writers check the cap on it)."""
        try:
            return set(CatalogItem.get(app_id, ATTRIBUTES_ENTRY, consistent_read=True).names or ())
        except CatalogItem.DoesNotExist:
            return set()

    def remove_attribute_names(self, app_id: str, entries: set[str]) -> None:
        """A field-level ``DELETE``: it merges with concurrent additions and never needs a retry."""
        if entries:
            CatalogItem(app_id, ATTRIBUTES_ENTRY).update(actions=[CatalogItem.names.delete(entries)])
