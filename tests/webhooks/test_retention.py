"""Outbox retention: finished events past ``outbox_retention_days`` are pruned with their
deliveries and attempt log, in bounded batches; nothing pending or retrying is, and the
case timeline never is. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from aftersales.cli import app
from aftersales.jobs.outbox import PRUNE_EVERY, Dispatcher, prune, prune_batch
from aftersales.services import webhooks as svc
from aftersales.services.context import Context
from aftersales.store.db import Database
from aftersales.store.schema import case_events, outbox_events, webhook_attempts
from aftersales.store.schema import webhook_deliveries as deliveries
from tests.conftest import FakeClock
from tests.factories import World, make_world
from tests.webhooks.conftest import ADMIN, Receiver, shop_code, webhook_context


def _world_with_endpoint(ctx: Context, receiver: Receiver, path: str) -> tuple[World, int]:
    world = make_world(ctx)
    ep = svc.create_endpoint(
        ctx, ADMIN, shop_code(ctx, world.shop_id), receiver.url(path), f"test {path}"
    )
    return world, ep.id


def _events_of(ctx: Context, world: World) -> list[int]:
    with ctx.db.read() as conn:
        q = select(outbox_events.c.id).where(outbox_events.c.shop_id == world.shop_id)
        return sorted(conn.execute(q).scalars())


def _count(ctx: Context, table: Any) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _retention(ctx: Context, days: int, batch: int = 1000) -> Context:
    ctx.settings = ctx.settings.model_copy(
        update={"outbox_retention_days": days, "outbox_prune_batch": batch}
    )
    return ctx


def test_retention_prunes_delivered_events_past_it_and_keeps_pending_and_retrying(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    _retention(wctx, 30)
    delivered, _ = _world_with_endpoint(wctx, receiver, "/ok")
    retrying, _ = _world_with_endpoint(wctx, receiver, "/down")
    receiver.fail_first["/down"] = 1000
    delivered.open()
    retrying.open()
    d = Dispatcher(wctx)
    d.run_until_idle()
    old_delivered, old_retrying = _events_of(wctx, delivered), _events_of(wctx, retrying)
    assert old_delivered and old_retrying
    timeline = _count(wctx, case_events)

    clock.advance(days=31)
    delivered.open()  # a new event, within the retention
    d.run_until_idle()
    new_delivered = sorted(set(_events_of(wctx, delivered)) - set(old_delivered))
    unfanned = delivered.open()  # not even fanned out yet
    assert unfanned

    assert prune(wctx) == len(old_delivered)
    assert _events_of(wctx, delivered) == sorted([*new_delivered, *_unfanned(wctx, delivered)])
    assert _events_of(wctx, retrying) == old_retrying  # still being retried: kept
    with wctx.db.read() as conn:
        left = conn.execute(select(deliveries.c.event_id)).scalars().all()
        assert not set(left) & set(old_delivered)
        orphans = conn.execute(
            select(func.count())
            .select_from(webhook_attempts)
            .where(webhook_attempts.c.delivery_id.not_in(select(deliveries.c.id)))
        ).scalar_one()
        assert orphans == 0
    # the case timeline is the permanent record: never pruned
    assert _count(wctx, case_events) >= timeline
    # idempotent: nothing more is past the retention
    assert prune(wctx) == 0
    d.close()


def _unfanned(ctx: Context, world: World) -> list[int]:
    with ctx.db.read() as conn:
        q = select(outbox_events.c.id).where(
            outbox_events.c.shop_id == world.shop_id, outbox_events.c.fanned_out_at.is_(None)
        )
        return sorted(conn.execute(q).scalars())


def test_retention_prunes_an_event_dead_after_its_last_attempt_unless_redelivered(
    db: Database, clock: FakeClock, receiver: Receiver
) -> None:
    ctx = _retention(webhook_context(db, clock, webhook_max_attempts=2), 30)
    dead, dead_ep = _world_with_endpoint(ctx, receiver, "/dead")
    again, again_ep = _world_with_endpoint(ctx, receiver, "/again")
    receiver.fail_first["/dead"] = receiver.fail_first["/again"] = 1000
    dead.open()
    again.open()
    d = Dispatcher(ctx)
    for _ in range(4):
        d.run_until_idle()
        clock.advance(hours=2)
    for ep in (dead_ep, again_ep):
        assert {x.status for x in svc.list_deliveries(ctx, ADMIN, ep).items} == {"failed"}
    clock.advance(days=31)
    for x in svc.list_deliveries(ctx, ADMIN, again_ep).items:
        svc.redeliver(ctx, ADMIN, again_ep, x.id)  # pending again: its event must stay
    kept, gone = _events_of(ctx, again), _events_of(ctx, dead)

    assert prune(ctx) == len(gone) > 0
    assert _events_of(ctx, dead) == []
    assert svc.list_deliveries(ctx, ADMIN, dead_ep).items == []
    assert _events_of(ctx, again) == kept
    d.close()


def test_retention_0_keeps_every_event(wctx: Context, clock: FakeClock, receiver: Receiver) -> None:
    _retention(wctx, 0)
    world, _ = _world_with_endpoint(wctx, receiver, "/ok")
    world.open()
    d = Dispatcher(wctx)
    d.run_until_idle()
    events = _events_of(wctx, world)
    clock.advance(days=3650)
    assert prune(wctx) == 0
    assert prune_batch(wctx) == 0
    assert d.prune_if_due() == 0
    assert _events_of(wctx, world) == events
    d.close()


def test_prune_works_in_bounded_batches(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    _retention(wctx, 30, batch=2)
    world, _ = _world_with_endpoint(wctx, receiver, "/ok")
    late, _ = _world_with_endpoint(wctx, receiver, "/late")
    receiver.fail_first["/late"] = 1
    for _ in range(3):
        world.open()
    late.open()
    d = Dispatcher(wctx)
    d.run_until_idle()
    n = len(_events_of(wctx, world))
    assert n >= 3
    clock.advance(days=31)

    assert prune_batch(wctx) == 2  # one transaction deletes at most the batch
    assert len(_events_of(wctx, world)) == n - 2
    # the dispatcher prunes one batch per round: again at once while batches are full,
    # then not before PRUNE_EVERY
    rounds = []
    while True:
        done = d.prune_if_due()
        rounds.append(done)
        if done < 2:
            break
    # (other shops' finished events, e.g. the worlds' order.recorded, may go in the same batches)
    assert all(r <= 2 for r in rounds) and sum(rounds) >= n - 2
    assert _events_of(wctx, world) == []
    assert _events_of(wctx, late)  # its delivery is still being retried
    d.run_until_idle()  # the late delivery gets through: now it may be pruned
    assert d.prune_if_due() == 0  # but the last batch was not full: wait PRUNE_EVERY
    clock.advance(seconds=PRUNE_EVERY.total_seconds())
    waiting = _events_of(wctx, late)
    assert d.prune_if_due() == len(waiting) > 0
    assert _events_of(wctx, late) == []
    d.close()


def test_cli_outbox_prune_and_dispatcher_once_prune_past_the_retention(
    wctx: Context, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, _ = _world_with_endpoint(wctx, receiver, "/ok")
    world.open()
    d = Dispatcher(wctx)
    d.run_until_idle()
    d.close()
    events = _events_of(wctx, world)
    monkeypatch.setenv("AFTERSALES_DATABASE_URL", wctx.db.url)
    monkeypatch.setenv("AFTERSALES_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
    runner = CliRunner()
    # the events are from the test clock's 2026-11-20, the CLI runs on the real clock
    kept = runner.invoke(app, ["outbox", "prune", "--days", "0", "--lang", "en"])
    assert kept.exit_code == 0, kept.output
    assert "kept" in kept.output and _events_of(wctx, world) == events
    zh = runner.invoke(app, ["outbox", "prune", "--days", "0", "--lang", "zh_CN"])
    assert "永久保留" in zh.output
    monkeypatch.setenv("AFTERSALES_OUTBOX_RETENTION_DAYS", "1")
    monkeypatch.setenv("AFTERSALES_LOCALE", "en")
    res = runner.invoke(app, ["dispatcher", "--once"])
    assert res.exit_code == 0, res.output
    assert f"{len(events)} finished outbox event(s)" in res.output
    assert _events_of(wctx, world) == []
    again = runner.invoke(app, ["outbox", "prune", "--lang", "en"])
    assert again.exit_code == 0 and "0 finished outbox event(s)" in again.output


def test_attempts_of_a_delivery_still_being_sent_stay_append_only(
    wctx: Context, receiver: Receiver
) -> None:
    world, _ = _world_with_endpoint(wctx, receiver, "/down")
    receiver.fail_first["/down"] = 1000
    world.open()
    d = Dispatcher(wctx)
    d.run_until_idle()
    d.close()
    attempts = _count(wctx, webhook_attempts)  # the case event's and the order's
    assert attempts >= 1
    with pytest.raises(Exception, match="append-only"), wctx.db.write() as conn:
        conn.execute(delete(webhook_attempts))
    with pytest.raises(Exception, match="append-only"), wctx.db.write() as conn:
        conn.execute(update(webhook_attempts).values(error="rewritten"))
    assert _count(wctx, webhook_attempts) == attempts
