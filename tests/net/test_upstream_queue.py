"""net.upstream's queue wait: timeouts and cancellation give back what they hold."""

from __future__ import annotations

import pytest
import trio

import trio_lb.config as config_pkg
from trio_lb.net.upstream import Attempt, QueueTimeout, acquire
from trio_lb.state.proxies import build_runtime

CFG = """
defaults
    mode http
backend be
    server s1 127.0.0.1:1 maxconn 1
"""


def backend():
    runtime = build_runtime(config_pkg.parse(CFG, "t.cfg"), trio.current_time())
    return runtime.backends["be"]


async def test_cancelled_while_queued_gives_back_the_session():
    with trio.fail_after(5):
        await _cancelled_while_queued()


async def _cancelled_while_queued() -> None:
    be = backend()
    first = await acquire(be, None, Attempt(start=trio.current_time()), 5)
    with trio.move_on_after(0.05):  # the waiting task goes away (client gone, stop)
        await acquire(be, None, Attempt(start=trio.current_time()), 5)
    assert (be.cur_sess, be.queued()) == (1, 0)
    be.release(first, trio.current_time())
    assert (be.cur_sess, first.cur_sess) == (0, 0)


async def test_slot_handed_over_while_leaving_is_given_back(nursery):
    with trio.fail_after(5):
        await _handed_over_while_leaving(nursery)


async def _handed_over_while_leaving(nursery) -> None:
    be = backend()
    first = await acquire(be, None, Attempt(start=trio.current_time()), 5)
    with trio.CancelScope() as scope:
        async def release_then_cancel():
            await trio.sleep(0.01)
            be.release(first, trio.current_time())  # hands the slot to the waiter...
            scope.cancel()  # ...which is cancelled before it runs again
        nursery.start_soon(release_then_cancel)
        got = None
        got = await acquire(be, None, Attempt(start=trio.current_time()), 5)
        await trio.sleep(1)  # the cancellation lands here or in acquire: either way nothing leaks
    if got is not None:  # acquire won the race: the slot is ours to give back
        be.release(got, trio.current_time())
    assert (be.cur_sess, first.cur_sess, be.queued()) == (0, 0, 0)


async def test_queue_timeout_gives_back_the_session():
    with trio.fail_after(5):
        await _queue_timeout()


async def _queue_timeout() -> None:
    be = backend()
    await acquire(be, None, Attempt(start=trio.current_time()), 5)
    with pytest.raises(QueueTimeout):
        await acquire(be, None, Attempt(start=trio.current_time()), 0.05)
    assert (be.cur_sess, be.queued()) == (1, 0)
