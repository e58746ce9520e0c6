"""Handlers for user commands. Hashing happens before the transaction, never inside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from events.users import UserEvent
from write_side.commands import (
    UNSET,
    ChangePassword,
    ChangeRole,
    DeactivateUser,
    DeleteUser,
    ReactivateUser,
    RegisterUser,
    UpdateUser,
)
from write_side.domain import access, users
from write_side.domain import reservations as reservation_streams
from write_side.domain.errors import WeakPassword, WrongPassword
from write_side.domain.passwords import password_problems
from write_side.domain.reservations import Kind
from write_side.domain.users import User
from write_side.executor import CommandContext, CommandExecutor, Executed, Transaction
from write_side.handlers import reservations


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


def _check_strength(field: str, password: str, *, username: str, email: str) -> None:
    problems = password_problems(password, username=username, email=email)
    if problems:
        raise WeakPassword(field, problems)


@dataclass(frozen=True, slots=True)
class UserHandlers:
    executor: CommandExecutor
    hasher: PasswordHasher
    dummy_hash: str
    """A hash of no one's password, verified when a login names no user."""

    def _decide_on(
        self, user_id: UUID, decider: Callable[[User], list[UserEvent]], context: CommandContext
    ) -> Executed[User]:
        """Runs a command that needs only the user's own state."""

        access.require_user(context.principal, user_id)

        def decide(tx: Transaction) -> User:
            user = users.existing(users.replay(tx.load_subject(user_id)), user_id)
            return users.replay(tx.record(user.id, decider(user)), user) or user

        return self.executor.run(decide, context, users.replay)

    def find(self, kind: Kind, login: str) -> User | None:
        """The user who holds this email or username now, deleted ones excepted."""
        store = self.executor.store
        reservation_id = reservation_streams.reservation_id(kind, login)
        reservation = reservation_streams.replay(reservation_id, store.load(reservation_id))
        if reservation.owner_id is None:
            return None
        return users.replay(store.load(reservation.owner_id))

    def authenticate(self, kind: Kind, login: str, password: str) -> User | None:
        """The active user whose password this is, or None.

        Costs one password verification whether or not the login names a user, so
        that timing tells nothing about which accounts exist.
        """
        user = self.find(kind, login)
        if user is None:
            self.hasher.verify(self.dummy_hash, password)
            return None
        if not self.hasher.verify(user.password_hash, password):
            return None
        return user if user.status is users.UserStatus.ACTIVE else None

    def register(self, cmd: RegisterUser, context: CommandContext) -> Executed[User]:
        _check_strength("password", cmd.password, username=cmd.username, email=cmd.email)
        password_hash = self.hasher.hash(cmd.password)

        def decide(tx: Transaction) -> User:
            reservations.claim(tx, Kind.EMAIL, cmd.email, cmd.user_id)
            reservations.claim(tx, Kind.USERNAME, cmd.username, cmd.user_id)
            tx.start(cmd.user_id)
            events = users.register(
                email=cmd.email,
                username=cmd.username,
                password_hash=password_hash,
                full_name=cmd.full_name,
                bio=cmd.bio,
            )
            user = users.replay(tx.record(cmd.user_id, events))
            assert user is not None
            return user

        return self.executor.run(decide, context, users.replay)

    def update(self, cmd: UpdateUser, context: CommandContext) -> Executed[User]:
        access.require_user(context.principal, cmd.user_id)

        def decide(tx: Transaction) -> User:
            user = users.existing(users.replay(tx.load_subject(cmd.user_id)), cmd.user_id)
            events = []
            if cmd.email is not UNSET:
                reservations.move(tx, Kind.EMAIL, user.email, cmd.email, user.id)
                events += users.change_email(user, cmd.email)
            if cmd.username is not UNSET:
                reservations.move(tx, Kind.USERNAME, user.username, cmd.username, user.id)
                events += users.change_username(user, cmd.username)
            events += users.change_profile(
                user,
                full_name=user.full_name if cmd.full_name is UNSET else cmd.full_name,
                bio=user.bio if cmd.bio is UNSET else cmd.bio,
            )
            return users.replay(tx.record(user.id, events), user) or user

        return self.executor.run(decide, context, users.replay)

    def change_password(self, cmd: ChangePassword, context: CommandContext) -> Executed[User]:
        access.require_user(context.principal, cmd.user_id)
        new_hash: list[str] = []  # hashed once, even if a conflict makes decide run again

        def decide(tx: Transaction) -> User:
            user = users.existing(users.replay(tx.load_subject(cmd.user_id)), cmd.user_id)
            if not self.hasher.verify(user.password_hash, cmd.current_password):
                raise WrongPassword()
            _check_strength(
                "new_password", cmd.new_password, username=user.username, email=user.email
            )
            if not new_hash:
                new_hash.append(self.hasher.hash(cmd.new_password))
            events = users.change_password(user, new_hash[0])
            return users.replay(tx.record(user.id, events), user) or user

        return self.executor.run(decide, context, users.replay)

    def deactivate(self, cmd: DeactivateUser, context: CommandContext) -> Executed[User]:
        return self._decide_on(cmd.user_id, users.deactivate, context)

    def reactivate(self, cmd: ReactivateUser, context: CommandContext) -> Executed[User]:
        """Admins only: a deactivated user cannot log in to undo it themselves."""
        access.require_admin(context.principal)
        return self._decide_on(cmd.user_id, users.reactivate, context)

    def change_role(self, cmd: ChangeRole, context: CommandContext) -> Executed[User]:
        access.require_admin(context.principal)
        return self._decide_on(cmd.user_id, lambda user: users.change_role(user, cmd.role), context)

    def delete(self, cmd: DeleteUser, context: CommandContext) -> Executed[User]:
        access.require_user(context.principal, cmd.user_id)

        def decide(tx: Transaction) -> User:
            user = users.existing(users.replay(tx.load_subject(cmd.user_id)), cmd.user_id)
            reservations.release(tx, Kind.EMAIL, user.email, user.id)
            reservations.release(tx, Kind.USERNAME, user.username, user.id)
            return users.replay(tx.record(user.id, users.delete(user)), user) or user

        return self.executor.run(decide, context, users.replay)
