"""The User aggregate: given a history, when a command is decided, then these events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from events.tasks import TaskCreated
from events.users import (
    UserDeactivated,
    UserDeleted,
    UserEmailChanged,
    UserEvent,
    UserPasswordChanged,
    UserProfileChanged,
    UserReactivated,
    UserRegistered,
    UserUsernameChanged,
)
from tests.write_side.domain.given import (
    USER_ID,
    at,
    created,
    envelopes,
    registered,
    user_from,
)
from write_side.domain import users
from write_side.domain.errors import InvalidTransition, UserNotFound
from write_side.domain.users import User, UserStatus


def test_register_decides_user_registered_with_every_field() -> None:
    events = users.register(
        email="ada@example.com",
        username="ada",
        password_hash="hash-1",
        full_name="Ada Lovelace",
        bio="Analyst",
    )

    assert events == [
        UserRegistered(
            email="ada@example.com",
            username="ada",
            password_hash="hash-1",
            full_name="Ada Lovelace",
            bio="Analyst",
        )
    ]


def test_registered_user_is_active_with_the_registered_fields() -> None:
    user = user_from(*users.register(email="ada@example.com", username="ada", password_hash="h"))

    assert user == User(
        id=USER_ID,
        version=1,
        email="ada@example.com",
        username="ada",
        password_hash="h",
        full_name=None,
        bio=None,
        status=UserStatus.ACTIVE,
        created_at=at(1),
        updated_at=at(1),
    )


def test_change_profile_decides_the_whole_new_profile() -> None:
    user = user_from(registered(full_name="Ada", bio="Analyst"))

    events = users.change_profile(user, full_name="Ada King", bio="Analyst")

    assert events == [UserProfileChanged(full_name="Ada King", bio="Analyst")]
    assert user_from(registered(full_name="Ada", bio="Analyst"), *events).full_name == "Ada King"


@pytest.mark.parametrize(("full_name", "bio"), [("Ada", "Analyst"), (None, None)])
def test_change_profile_to_the_current_profile_decides_nothing(
    full_name: str | None, bio: str | None
) -> None:
    user = user_from(registered(full_name=full_name, bio=bio))

    assert users.change_profile(user, full_name=full_name, bio=bio) == []


def test_change_profile_can_clear_fields() -> None:
    history = [registered(full_name="Ada", bio="Analyst")]

    events = users.change_profile(user_from(*history), full_name=None, bio=None)

    assert events == [UserProfileChanged(full_name=None, bio=None)]
    user = user_from(*history, *events)
    assert (user.full_name, user.bio, user.version) == (None, None, 2)


def test_change_email_carries_the_old_email() -> None:
    history = [registered(email="ada@example.com")]

    events = users.change_email(user_from(*history), "countess@example.com")

    assert events == [UserEmailChanged(old_email="ada@example.com", email="countess@example.com")]
    assert user_from(*history, *events).email == "countess@example.com"


def test_change_email_to_the_current_email_decides_nothing() -> None:
    assert (
        users.change_email(user_from(registered(email="ada@example.com")), "ada@example.com") == []
    )


def test_change_username_carries_the_old_username() -> None:
    history = [registered(username="ada")]

    events = users.change_username(user_from(*history), "countess")

    assert events == [UserUsernameChanged(old_username="ada", username="countess")]
    assert user_from(*history, *events).username == "countess"


def test_change_username_to_the_current_username_decides_nothing() -> None:
    assert users.change_username(user_from(registered(username="ada")), "ada") == []


def test_change_password_decides_the_new_hash() -> None:
    history = [registered(password_hash="old-hash")]

    events = users.change_password(user_from(*history), "new-hash")

    assert events == [UserPasswordChanged(password_hash="new-hash")]
    assert user_from(*history, *events).password_hash == "new-hash"


def test_deactivate_an_active_user() -> None:
    history = [registered()]

    events = users.deactivate(user_from(*history))

    assert events == [UserDeactivated()]
    assert user_from(*history, *events).status is UserStatus.INACTIVE


def test_deactivate_an_inactive_user_is_an_invalid_transition() -> None:
    user = user_from(registered(), UserDeactivated())

    with pytest.raises(InvalidTransition) as raised:
        users.deactivate(user)

    assert (raised.value.current, raised.value.wanted) == (
        UserStatus.INACTIVE,
        UserStatus.INACTIVE,
    )


def test_reactivate_an_inactive_user() -> None:
    history: list[UserEvent] = [registered(), UserDeactivated()]

    events = users.reactivate(user_from(*history))

    assert events == [UserReactivated()]
    assert user_from(*history, *events).status is UserStatus.ACTIVE


def test_reactivate_an_active_user_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransition) as raised:
        users.reactivate(user_from(registered()))

    assert (raised.value.current, raised.value.wanted) == (UserStatus.ACTIVE, UserStatus.ACTIVE)


@pytest.mark.parametrize("decide", [users.deactivate, users.reactivate])
def test_a_deleted_user_can_be_neither_deactivated_nor_reactivated(
    decide: Callable[[User], list[UserEvent]],
) -> None:
    user = user_from(registered(), UserDeleted())

    with pytest.raises(InvalidTransition):
        decide(user)


@pytest.mark.parametrize("history_tail", [[], [UserDeactivated()]])
def test_delete_a_user(history_tail: list[UserEvent]) -> None:
    history: list[UserEvent] = [registered(), *history_tail]

    events = users.delete(user_from(*history))

    assert events == [UserDeleted()]
    assert user_from(*history, *events).status is UserStatus.DELETED


def test_existing_returns_a_live_user() -> None:
    user = user_from(registered(), UserDeactivated())

    assert users.existing(user, USER_ID) is user


def test_existing_refuses_a_user_that_never_existed() -> None:
    with pytest.raises(UserNotFound) as raised:
        users.existing(None, USER_ID)

    assert raised.value.stream_id == USER_ID


def test_existing_refuses_a_deleted_user() -> None:
    with pytest.raises(UserNotFound) as raised:
        users.existing(user_from(registered(), UserDeleted()), USER_ID)

    assert raised.value.stream_id == USER_ID


def test_replay_of_an_empty_stream_is_none() -> None:
    assert users.replay([]) is None


def test_replay_of_a_stream_that_does_not_start_with_registration_is_none() -> None:
    assert users.replay(envelopes(USER_ID, [UserDeactivated(), UserReactivated()])) is None


def test_replay_of_another_aggregates_stream_is_none() -> None:
    task_stream: list[TaskCreated] = [created()]

    assert users.replay(envelopes(USER_ID, task_stream)) is None


def test_replay_folds_the_whole_history() -> None:
    history = envelopes(
        USER_ID,
        [
            registered(email="ada@example.com", username="ada", full_name=None, bio=None),
            UserEmailChanged(old_email="ada@example.com", email="countess@example.com"),
            UserUsernameChanged(old_username="ada", username="countess"),
            UserProfileChanged(full_name="Ada King", bio="Countess of Lovelace"),
            UserPasswordChanged(password_hash="new-hash"),
            UserDeactivated(),
        ],
    )

    assert users.replay(history) == User(
        id=USER_ID,
        version=6,
        email="countess@example.com",
        username="countess",
        password_hash="new-hash",
        full_name="Ada King",
        bio="Countess of Lovelace",
        status=UserStatus.INACTIVE,
        created_at=at(1),
        updated_at=at(6),
    )


def test_replay_folds_new_events_onto_a_given_state() -> None:
    before = user_from(registered(username="ada"))
    later = envelopes(
        USER_ID,
        [UserUsernameChanged(old_username="ada", username="countess"), UserDeactivated()],
        after_version=before.version,
    )

    after = users.replay(later, before)

    assert after == replace(
        before,
        version=3,
        username="countess",
        status=UserStatus.INACTIVE,
        updated_at=at(3),
    )


def test_replay_of_nothing_onto_a_given_state_returns_that_state() -> None:
    before = user_from(registered())

    assert users.replay([], before) is before


def test_change_email_that_differs_only_by_domain_case_changes_nothing() -> None:
    user = user_from(registered(email="ada@example.com"))

    assert users.change_email(user, "ada@EXAMPLE.com") == []
