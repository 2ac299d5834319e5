"""The API key store on both backends: create, authenticate, revoke, expire, list per tenant."""

from __future__ import annotations

import time
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


def test_a_key_read_lately_answers_from_memory_checked_at_each_use(database_target: str) -> None:
    store = KeyStore(database_target, cache_for=60)
    expires = datetime.now(UTC) + timedelta(seconds=3)
    made = store.create("acme", ["triage"], name="desk", expires=expires)
    assert store.authenticate_cached(made.secret) is None  # never read: the database must answer
    assert store.authenticate(made.secret).id == made.key.id
    cached = store.authenticate_cached(made.secret)
    assert cached is not None and (cached.id, cached.tenant, cached.scopes) == (
        made.key.id,
        "acme",
        ("triage",),
    )
    with pytest.raises(InvalidKey, match="not valid"):
        store.authenticate_cached(made.secret[:-4] + "abcd")  # the secret is checked from memory too
    time.sleep((expires - datetime.now(UTC)).total_seconds() + 0.1)
    with pytest.raises(InvalidKey, match="expired"):
        store.authenticate_cached(made.secret)  # expiry is checked at use, not at the read
    store.close()


def test_a_revocation_takes_effect_at_once_here_and_within_cache_for_elsewhere(database_target: str) -> None:
    here = KeyStore(database_target, cache_for=0.3)
    elsewhere = KeyStore(database_target, cache_for=0.3)  # another replica or worker process
    mine = here.create("acme", ["triage"])
    theirs = here.create("acme", ["triage"])
    for store in (here, elsewhere):
        for made in (mine, theirs):
            assert store.authenticate(made.secret).id == made.key.id
    here.revoke(mine.key.id)
    assert here.authenticate_cached(mine.secret) is None  # forgotten: the next check reads the database
    with pytest.raises(InvalidKey, match="revoked"):
        here.authenticate(mine.secret)
    elsewhere.revoke(theirs.key.id)
    assert here.authenticate_cached(theirs.secret) is not None  # read before the revocation ...
    time.sleep(0.35)
    assert here.authenticate_cached(theirs.secret) is None  # ... and no longer once cache_for passed
    with pytest.raises(InvalidKey, match="revoked"):
        here.authenticate(theirs.secret)
    assert KeyStore(database_target).authenticate_cached(mine.secret) is None  # cache_for 0: never
    here.close()
    elsewhere.close()
