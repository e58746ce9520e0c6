"""The circuit breaker's state machine, on a clock the test moves."""

from __future__ import annotations

import asyncio

import pytest

from read_side.breaker import BreakerState, CircuitBreaker, CircuitOpen
from tests.support.clock import Clock


class Down(Exception):
    pass


class Refused(Exception):
    """The dependency answered with an error: not an outage."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(
        "dep", failures=(Down,), failure_threshold=5, reset_timeout=30, clock=clock
    )


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(Down), breaker.guard():
            raise Down


def succeed(breaker: CircuitBreaker) -> None:
    with breaker.guard():
        pass


def test_it_opens_after_five_consecutive_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, 4)
    assert breaker.state.value == BreakerState.CLOSED.value
    assert breaker.consecutive_failures == 4

    fail(breaker)

    assert breaker.state.value == BreakerState.OPEN.value
    assert breaker.snapshot() == {"state": "open", "consecutive_failures": 5}


def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    fail(breaker, 4)
    succeed(breaker)
    fail(breaker, 4)

    assert breaker.state.value == BreakerState.CLOSED.value
    assert breaker.consecutive_failures == 4


def test_other_errors_mean_the_dependency_answered(breaker: CircuitBreaker) -> None:
    fail(breaker, 4)
    with pytest.raises(Refused), breaker.guard():
        raise Refused

    assert breaker.consecutive_failures == 0


def test_while_open_calls_are_refused_without_running(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 5)
    clock.now += 29.9
    ran = False

    with pytest.raises(CircuitOpen) as refused, breaker.guard():
        ran = True

    assert not ran
    assert refused.value.retry_after == pytest.approx(0.1)


def test_after_the_timeout_one_probe_goes_through_and_its_success_closes(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 5)
    clock.now += 30.1
    assert breaker.state.value == BreakerState.HALF_OPEN.value

    with breaker.guard():
        with pytest.raises(CircuitOpen), breaker.guard():
            pytest.fail("a second call went through while the probe was in flight")
        assert breaker.state.value == BreakerState.HALF_OPEN.value

    assert breaker.snapshot() == {"state": "closed", "consecutive_failures": 0}
    succeed(breaker)


def test_a_failed_probe_opens_it_for_another_timeout(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 5)
    clock.now += 31

    fail(breaker)

    assert breaker.state.value == BreakerState.OPEN.value
    clock.now += 29
    with pytest.raises(CircuitOpen), breaker.guard():
        pass
    clock.now += 2
    succeed(breaker)
    assert breaker.state.value == BreakerState.CLOSED.value


async def test_a_cancelled_probe_lets_the_next_call_probe(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 5)
    clock.now += 31

    async def probe() -> None:
        with breaker.guard():
            await asyncio.sleep(10)

    task = asyncio.create_task(probe())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert breaker.state.value == BreakerState.HALF_OPEN.value
    succeed(breaker)
    assert breaker.state.value == BreakerState.CLOSED.value


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("x", failures=(Down,), failure_threshold=0)
