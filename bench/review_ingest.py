"""Review ingest rate and queue-page latency, each beside a baseline from the same run.

1. Ingest: N `helix.asset.generated` events (each pointing at a real object in MinIO) on
   one topic. Helix: the review service turns them into durable, screened review items
   (object read and verified, five checks, item + findings committed, offsets committed).
   Baselines, raw confluent-kafka consumers on the same topic doing durable ingest by
   hand: (a) the same object verification (GET each object with the minio client, 16 at
   a time, check its sha256), then insert into SQLite and commit table then offsets per
   poll; (b) the least possible: parse and insert, no object read.
2. Queue pages: the review queue at 10k and at 1M items (SQLite), pages of 50 through the
   gRPC API, from the top and from random deep cursors: p50/p99. Goal: flat, so the
   ratio is the 10k latency over the 1M latency (1.0 = flat).

    uv run python bench/review_ingest.py [--events 3000] [--big 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from confluent_kafka import Consumer, Producer
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record  # noqa: E402

from helix.assets import AssetStore  # noqa: E402
from helix.bus import ensure_topics  # noqa: E402
from helix.events import Actor, AssetGenerated, Topic, encode, new_event  # noqa: E402
from helix.logs import configure_logging  # noqa: E402
from helix.pagination import encode_cursor  # noqa: E402
from helix.settings import load_settings  # noqa: E402
from helix.v1 import common_pb2, review_pb2, review_pb2_grpc  # noqa: E402
from helix_review.app import ReviewApp  # noqa: E402
from helix_review.db import ReviewItem, make_engine, migrate  # noqa: E402
from helix_review.settings import ReviewSettings  # noqa: E402


def base_settings(workdir: Path) -> ReviewSettings:
    import os

    if not os.environ.get("HELIX_KAFKA_BOOTSTRAP"):
        from helix_dev.infra import LocalInfra

        LocalInfra().up(("kafka", "minio"))
    values = load_settings().model_dump()
    values.update(
        topic_namespace=f"bench{uuid.uuid4().hex[:8]}", topic_partitions=1, s3_bucket=f"bench-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{workdir / 'review.db'}", service_name="review", review_grpc_address="127.0.0.1:0",
        consumer_batch_max=200,
    )
    return ReviewSettings(**values)


def make_events(settings: ReviewSettings, n: int) -> list[bytes]:
    store = AssetStore(settings)
    store.ensure_bucket()

    def one(i: int) -> bytes:
        text = f"INT. LAMP ROOM - NIGHT\n\nMARA\nLine {i}: the light has never gone out.\n".encode()
        stored = store.put(production_id="bench", kind="script", asset_id=f"script-{i:06d}", data=text,
                           media_type="text/x-fountain", ext="fountain")
        data = AssetGenerated(**stored.event_fields(), model={"id": "helix/tiny-llama", "revision": "r1"},
                              inputs={"prompt": f"scene {i}"}, generated_by=Actor(subject="writer", kind="service"),
                              generated_at=datetime.now(UTC), requested_by=Actor(subject="dana"))
        return encode(new_event(data, source="/bench"))

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(n)))


def publish(settings: ReviewSettings, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    for value in values:
        producer.produce(settings.topic(Topic.ASSETS_GENERATED), value=value, key=b"bench")
        producer.poll(0)
    assert producer.flush(60) == 0


def raw_durable_ingest(settings: ReviewSettings, n: int, db_path: Path, *, verify_objects: bool) -> float:
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE items (event_id TEXT PRIMARY KEY, asset_id TEXT, payload TEXT)")
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"raw-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([settings.topic(Topic.ASSETS_GENERATED)])
    s3 = AssetStore(settings).client  # a plain minio.Minio client
    pool = ThreadPoolExecutor(16)

    def verified(event: dict) -> bool:
        response = s3.get_object(settings.s3_bucket, event["data"]["object_key"])
        try:
            return hashlib.sha256(response.read()).hexdigest() == event["data"]["sha256"]
        finally:
            response.close()
            response.release_conn()

    done, first = 0, None
    while done < n:
        batch = [m for m in consumer.consume(num_messages=200, timeout=1.0) if not m.error()]
        if not batch:
            continue
        first = first or time.perf_counter()
        events = [json.loads(m.value()) for m in batch]
        if verify_objects:
            assert all(pool.map(verified, events))
        rows = []
        for m, event in zip(batch, events, strict=True):
            rows.append((event["id"], event["data"]["asset_id"], m.value().decode()))
        db.executemany("INSERT OR IGNORE INTO items VALUES (?, ?, ?)", rows)
        db.commit()
        consumer.commit(asynchronous=False)
        done += len(batch)
    rate = done / (time.perf_counter() - first)
    pool.shutdown()
    consumer.close()
    db.close()
    return rate


async def helix_ingest(settings: ReviewSettings, n: int) -> float:
    app = ReviewApp(settings)
    await app.start()
    try:
        first = None
        while True:
            count = await asyncio.to_thread(_count, app)
            if count and first is None:
                first = (time.perf_counter(), count)
            if count >= n:
                break
            await asyncio.sleep(0.05)
        return (n - first[1]) / (time.perf_counter() - first[0])
    finally:
        await app.stop()


def _count(app: ReviewApp) -> int:
    with app.sessions() as s:
        return s.scalar(select(func.count()).select_from(ReviewItem)) or 0


def fill_queue(url: str, n: int) -> list[tuple[float, datetime, str]]:
    """n pending items with a realistic spread of risk; returns some sort keys to page from."""
    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    keys = []
    event_json = '{"note": "bench row"}'
    with engine.begin() as conn:
        for chunk in range(0, n, 20_000):
            rows = []
            for i in range(chunk, min(n, chunk + 20_000)):
                priority = -rng.choice((0, 0, 0, 1, 1, 5, 6, 25, 26, 100))
                created = start + timedelta(seconds=i)
                item_id = uuid.UUID(int=rng.getrandbits(128)).hex
                rows.append(dict(id=item_id, event_id=item_id, asset_id=f"a{i}", asset_version=1, production_id=f"p{i % 50}",
                                 kind="frame", object_key=f"productions/p{i % 50}/frame/a{i}/v1.png", sha256="0" * 64,
                                 media_type="image/png", size_bytes=1, requested_by=None, event_json=event_json,
                                 status="pending", priority=priority, created_at=created))
                if rng.random() < 300 / n:
                    keys.append((float(priority), created, item_id))
            conn.execute(insert(ReviewItem), rows)
    engine.dispose()
    return keys


async def page_latencies(settings: ReviewSettings, keys: list[tuple[float, datetime, str]], requests: int = 300) -> tuple[float, float]:
    app = ReviewApp(settings.model_copy(update={"review_outbox_relay": False}))
    await app.start()
    try:
        async with grpc.aio.insecure_channel(app.grpc_address) as channel:
            stub = review_pb2_grpc.ReviewServiceStub(channel)
            await stub.ListQueue(review_pb2.ListQueueRequest())  # warm up
            rng = random.Random(11)
            times = []
            for i in range(requests):
                k = rng.choice(keys)
                cursor = "" if i % 3 == 0 else encode_cursor([k[0], k[1].isoformat(), k[2]])
                started = time.perf_counter()
                reply = await stub.ListQueue(review_pb2.ListQueueRequest(page=common_pb2.PageRequest(page_size=50, cursor=cursor)))
                times.append((time.perf_counter() - started) * 1000)
                assert reply.items or cursor, "the first page is never empty"
    finally:
        await app.stop()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args()
    configure_logging("bench", level="WARNING", json=False)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        settings = base_settings(workdir)
        ensure_topics(settings, [Topic.ASSETS_GENERATED, Topic.REVIEW_DECISIONS, Topic.DLQ])
        print(f"storing {args.events} assets and publishing their events …")
        publish(settings, make_events(settings, args.events))
        raw_verify = raw_durable_ingest(settings, args.events, workdir / "raw1.db", verify_objects=True)
        print(f"raw consumer + object check + SQLite insert: {raw_verify:,.0f} events/s")
        raw_insert = raw_durable_ingest(settings, args.events, workdir / "raw2.db", verify_objects=False)
        print(f"raw consumer + SQLite insert only:           {raw_insert:,.0f} events/s")
        helix = asyncio.run(helix_ingest(settings, args.events))
        print(f"review service ingest:                       {helix:,.0f} items/s")
        e = record("review_ingest.rate", value=helix, unit="items/s", baseline=raw_verify,
                   description="durable, screened review items from Kafka (goal ≥ 0.5×)",
                   baseline_label="raw confluent-kafka consumer doing the same object check + SQLite insert")
        print(f"ingest ratio {e['ratio']} (same object check)")
        e = record("review_ingest.rate_vs_insert_only", value=helix, unit="items/s", baseline=raw_insert,
                   description="the same, against a consumer that reads no object",
                   baseline_label="raw confluent-kafka consumer + SQLite insert, no object read")
        print(f"ingest ratio {e['ratio']} (no object read)")

        latencies = {}
        for size in (args.small, args.big):
            url = f"sqlite:///{workdir / f'queue-{size}.db'}"
            started = time.perf_counter()
            keys = fill_queue(url, size)
            print(f"queue of {size:,} items built in {time.perf_counter() - started:.0f} s")
            latencies[size] = asyncio.run(page_latencies(settings.model_copy(update={"database_url": url}), keys))
            print(f"  page of 50 at {size:,}: p50 {latencies[size][0]:.2f} ms, p99 {latencies[size][1]:.2f} ms")
        for i, pct in enumerate(("p50", "p99")):
            record(f"review_queue_page.{pct}", value=latencies[args.big][i], unit="ms", baseline=latencies[args.small][i],
                   description=f"queue page latency {pct} at {args.big:,} items (goal: flat)",
                   baseline_label=f"same at {args.small:,} items", higher_is_better=False)


if __name__ == "__main__":
    main()
