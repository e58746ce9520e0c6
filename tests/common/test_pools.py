from common.pools import PingWhenIdle


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Conn:
    """Stands in for a connection: PingWhenIdle only keys a weak dictionary on it."""


def test_a_new_connection_is_pinged() -> None:
    assert PingWhenIdle(idle=1.0, clock=Clock()).due(Conn())


def test_a_connection_back_within_the_idle_time_is_not_pinged() -> None:
    clock, conn = Clock(), Conn()
    pings = PingWhenIdle(idle=1.0, clock=clock)
    pings.returned(conn)
    clock.now += 0.9
    assert not pings.due(conn)


def test_a_connection_idle_for_longer_is_pinged() -> None:
    clock, conn = Clock(), Conn()
    pings = PingWhenIdle(idle=1.0, clock=clock)
    pings.returned(conn)
    clock.now += 1.1
    assert pings.due(conn)
