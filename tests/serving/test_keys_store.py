"""The API key store on both backends: create, authenticate, revoke, expire, list per tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from serving.keys import InvalidKey, KeyStore, UnknownKey


def test_key_store_lifecycle(database_target: str) -> None:
    store = KeyStore(database_target)
    made = store.create("acme", ["triage", "feedback"], name="desk")
    other = store.create("other", "*")
    assert store.authenticate(made.secret).id == made.key.id
    assert store.authenticate(made.secret).scopes == ("triage", "feedback")
    assert [k.id for k in store.list("acme")] == [made.key.id]
    assert {k.id for k in store.list()} == {made.key.id, other.key.id}
    with pytest.raises(UnknownKey):
        store.get(made.key.id, tenant="other")
    revoked = store.revoke(made.key.id, tenant="acme")
    assert revoked.revoked is not None and revoked.status == "revoked"
    with pytest.raises(InvalidKey, match="revoked"):
        store.authenticate(made.secret)
    with pytest.raises(InvalidKey, match="not valid"):
        store.authenticate(made.secret[:-4] + "abcd")
    assert store.any_active()
    store.close()


def test_key_store_keeps_keys_and_their_use_across_reopen(database_target: str) -> None:
    store = KeyStore(database_target)
    made = store.create("acme", ["triage"], expires=datetime.now(UTC) + timedelta(days=1))
    store.close()
    again = KeyStore(database_target)
    assert again.authenticate(made.secret).expires is not None
    used = again.get(made.key.id)
    assert used.last_used is not None and used.status == "active"
    again.close()
