"""`helix.bus.watchdog`: which consumers dropped out of their group for good, from librdkafka's statistics."""

from __future__ import annotations

import json
from typing import Any

import pytest

from helix.bus.watchdog import ConsumerWatch, healthy


def sample(name: str = "helix-review#consumer-4", *, state: str = "up", join: str = "steady", coordinator: str = "UP",
           timeouts: int = 0, kind: str = "consumer") -> str:
    stats: dict[str, Any] = {
        "name": name, "client_id": name.split("#")[0], "type": kind,
        "brokers": {"127.0.0.1:9092/1": {"state": "UP", "req_timeouts": 0},
                    "GroupCoordinator": {"state": coordinator, "req_timeouts": timeouts, "outbuf_cnt": 1 if timeouts else 0}},
        "cgrp": {"state": state, "join_state": join, "assignment_size": 3},
    }
    return json.dumps(stats)


def feed(watch: ConsumerWatch, raw: str, at: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("helix.bus.watchdog.time.monotonic", lambda: at)
    watch.on_stats(raw)


def test_a_sample_is_healthy_only_as_a_steady_member_with_its_coordinator_answering() -> None:
    assert healthy(json.loads(sample()), 0)[0]
    ok, _, why = healthy(json.loads(sample(state="wait-coord", join="init")), 0)
    assert not ok and "wait-coord/init" in why
    ok, _, why = healthy(json.loads(sample(coordinator="TRY_CONNECT")), 0)
    assert not ok and "TRY_CONNECT" in why
    ok, timeouts, why = healthy(json.loads(sample(timeouts=3)), 2)
    assert not ok and timeouts == 3 and "1 coordinator request(s) timed out" in why
    assert healthy(json.loads(sample(timeouts=3)), 3)[0], "old time-outs are not held against it"


def test_a_member_out_of_its_group_past_the_limit_is_wedged(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = ConsumerWatch(wedged_after_s=60)
    feed(watch, sample(), 1000, monkeypatch)
    for t in range(1005, 1070, 5):  # the coordinator's requests sit queued and time out, a minute on end
        feed(watch, sample(coordinator="CONNECT", timeouts=(t - 1000) // 60), t, monkeypatch)
    assert watch.wedged(broker_reachable_since=900, busy=False, now=1050) == {}, "not yet a minute"
    found = watch.wedged(broker_reachable_since=900, busy=False, now=1065)
    assert list(found) == ["helix-review#consumer-4"]
    assert "not a working member for 65 s" in found["helix-review#consumer-4"] and "coordinator connection CONNECT" in found["helix-review#consumer-4"]


def test_nobody_is_judged_while_the_broker_is_away_or_just_back(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = ConsumerWatch(wedged_after_s=60)
    feed(watch, sample(state="wait-coord"), 1000, monkeypatch)
    feed(watch, sample(state="wait-coord"), 1100, monkeypatch)
    assert watch.wedged(broker_reachable_since=None, busy=False, now=1100) == {}
    assert watch.wedged(broker_reachable_since=1090, busy=False, now=1100) == {}, "back 10 s ago: rejoining takes a while"
    assert watch.wedged(broker_reachable_since=1030, busy=False, now=1100)


def test_one_healthy_sample_clears_a_member_and_rejoining_in_time_is_no_wedge(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = ConsumerWatch(wedged_after_s=60)
    feed(watch, sample(state="wait-coord"), 1000, monkeypatch)
    feed(watch, sample(join="wait-join"), 1040, monkeypatch)
    feed(watch, sample(), 1050, monkeypatch)
    feed(watch, sample(join="wait-join"), 1100, monkeypatch)
    assert watch.wedged(broker_reachable_since=0, busy=False, now=1100) == {}


def test_a_consumer_that_stopped_polling_is_wedged_unless_its_owner_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = ConsumerWatch(wedged_after_s=60)
    feed(watch, sample(), 1000, monkeypatch)
    assert watch.wedged(broker_reachable_since=0, busy=True, now=1100) == {}, "inside a handler, nobody polls"
    assert "no poll for 100 s" in watch.wedged(broker_reachable_since=0, busy=False, now=1100)["helix-review#consumer-4"]


def test_producers_and_unreadable_samples_are_ignored_and_replaced_clients_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = ConsumerWatch(wedged_after_s=60)
    feed(watch, sample("helix-review#producer-1", kind="producer", state="init"), 1000, monkeypatch)
    feed(watch, "not json", 1000, monkeypatch)
    assert watch.wedged(broker_reachable_since=0, busy=False, now=2000) == {}
    feed(watch, sample(state="wait-coord"), 1000, monkeypatch)
    feed(watch, sample("helix-review#consumer-9", state="wait-coord"), 1000, monkeypatch)
    assert len(watch.wedged(broker_reachable_since=0, busy=False, now=2000)) == 2
    watch.forget(["helix-review#consumer-4"])
    assert list(watch.wedged(broker_reachable_since=0, busy=False, now=2000)) == ["helix-review#consumer-9"]
    watch.forget()
    assert watch.wedged(broker_reachable_since=0, busy=False, now=2000) == {}
    feed(watch, sample("helix-review#consumer-9", state="wait-coord"), 1000, monkeypatch)
    assert watch.wedged(broker_reachable_since=0, busy=False, now=2000) == {}, "a replaced client is never judged again"


def test_an_owner_of_one_consumer_judges_it_from_the_moment_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    watch = ConsumerWatch(wedged_after_s=60, one_client="visual-requests")
    monkeypatch.setattr("helix.bus.watchdog.time.monotonic", lambda: 1000)
    watch.expect()
    assert "no poll for 60 s" in watch.wedged(broker_reachable_since=0, busy=False, now=1060)["visual-requests"], \
        "wedged before its first sample: still seen"
    feed(watch, sample("visual-requests-7f01#consumer-5"), 1050, monkeypatch)
    assert watch.wedged(broker_reachable_since=0, busy=False, now=1060) == {}, "its first sample names it"
    watch.expect()  # replaced: the new one starts afresh, the old one is retired
    feed(watch, sample("visual-requests-7f01#consumer-5", state="query-coord"), 1055, monkeypatch)
    assert watch.wedged(broker_reachable_since=0, busy=False, now=1059) == {}
    assert "no poll for 80 s" in watch.wedged(broker_reachable_since=0, busy=False, now=1130)["visual-requests"], \
        "the old one, still closing, serves samples: they do not stand in for the new one's"
    feed(watch, sample("visual-requests-9a02#consumer-6"), 1120, monkeypatch)
    assert watch.wedged(broker_reachable_since=0, busy=False, now=1130) == {}
