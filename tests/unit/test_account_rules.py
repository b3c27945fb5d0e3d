"""Account rules without a server: email keys, admin events of version 1 still loading,
the users projection on reactivation, the shipped list of common passwords, link URLs."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from commands.accounts import AccountCommands
from commands.event_store import EventStore
from domain.passwords import PasswordTooCommon, check_new_password, password_key
from domain.user import Role, User, legacy_email_key, normalise_email
from infra.passwords import common_passwords
from infra.settings import link_base_url
from projections.users import users
from workers.notifications import read_after

ASCII_EMAIL = st.text(alphabet=string.printable, max_size=60)


@given(ASCII_EMAIL)
def test_an_ascii_email_keeps_the_id_it_always_had(address: str) -> None:
    assert normalise_email(address) == address.strip().lower() == legacy_email_key(address)
    assert User.ids_for_email(address) == [User.create_id(address.strip().lower())]


@given(st.text(max_size=40))
def test_normalising_twice_changes_nothing(address: str) -> None:
    assert normalise_email(normalise_email(address)) == normalise_email(address)


def test_look_alike_addresses_are_one_key() -> None:
    fullwidth = "\uff44\uff55\uff50@example.com"  # "dup" in fullwidth letters
    assert normalise_email(fullwidth) == normalise_email(" DUP@Example.com ") == "dup@example.com"
    assert normalise_email("Stra\u00dfe@example.com") == "strasse@example.com"


def test_an_account_made_before_nfkc_is_found_at_its_old_id() -> None:
    app = popo()
    old = User(email="straße@example.com", password_hash="$argon2id$x", role="consumer")
    assert old.id == User.create_id(legacy_email_key("Straße@example.com"))
    app.save(old)
    found = AccountCommands(app).find_user_by_email("STRASSE@example.com".replace("SS", "ß"))
    assert found is not None and found.id == old.id


def popo() -> EventStore:
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def stored_as_version_1(app: EventStore, event: Any) -> Any:
    """The event as the code before version 2 stored it: no actor, no class_version."""
    stored = app.mapper.to_stored_event(event)
    state = app.mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2
    del state["by"]
    old = type(stored)(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=app.mapper.transcoder.encode(state),
    )
    return app.mapper.to_domain_event(old)


def test_admin_events_stored_before_they_named_their_actor_still_load() -> None:
    app = popo()
    user = User(email="old@example.com", password_hash="$argon2id$x", role="consumer")
    user.change_role(Role.ADMIN, by=None)
    user.deactivate(by=user.id)
    role_changed, deactivated = (stored_as_version_1(app, e) for e in user.pending_events[1:])
    assert (role_changed.role, role_changed.by) == ("admin", None)
    assert deactivated.by is None
    replayed = None
    for event in [user.pending_events[0], role_changed, deactivated]:
        replayed = event.mutate(replayed)
    assert isinstance(replayed, User)
    assert (replayed.role, replayed.deactivated) == ("admin", True)


def test_the_users_document_is_active_again_after_reactivation() -> None:
    app = popo()
    first = AccountCommands(app).register_user("a@example.com", "$argon2id$x", Role.CONSUMER).id
    target = AccountCommands(app).register_user("b@example.com", "$argon2id$x", Role.CONSUMER).id
    AccountCommands(app).change_role(first, Role.ADMIN)
    AccountCommands(app).deactivate_user(target, by=first)
    deactivated = fold_users(app)[str(target)]
    AccountCommands(app).reactivate_user(target, by=first)
    assert (deactivated["status"], fold_users(app)[str(target)]["status"]) == (
        "deactivated",
        "active",
    )


def fold_users(app: EventStore) -> dict[str, Any]:
    docs: dict[str, Any] = {}
    for _, envelope in read_after(app, 0, 10_000):
        if users.wants(envelope):
            docs[envelope["aggregate_id"]] = users.apply(
                docs.get(envelope["aggregate_id"]), envelope
            )
    return docs


def test_the_shipped_common_passwords_are_zxcvbns_of_eight_characters_or_more() -> None:
    """The file's provenance, checked: the package its header names, in its order."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    expected = [w for w in FREQUENCY_LISTS["passwords"] if len(w) >= 8]
    assert common_passwords() == frozenset(password_key(w) for w in expected)
    assert 10_000 <= len(common_passwords()) <= 12_000


def test_common_passwords_are_compared_after_nfkc_and_case_folding() -> None:
    common = common_passwords()
    for variant in ("Password", "PASSWORD", "\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44"):
        try:
            check_new_password(variant, common)
        except PasswordTooCommon:
            continue
        raise AssertionError(f"{variant!r} was accepted")
    check_new_password("a long passphrase", common)
    check_new_password("correct horse battery", common)


def test_a_wildcard_listening_address_makes_a_link_to_this_machine() -> None:
    assert link_base_url("0.0.0.0", 8123) == "http://127.0.0.1:8123"
    assert link_base_url("::", 8123) == "http://[::1]:8123"
    assert link_base_url("fe80::1", 80) == "http://[fe80::1]:80"
    assert link_base_url("market.example", 9000) == "http://market.example:9000"
