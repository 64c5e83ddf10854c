"""The ingest DAG under a real Airflow scheduler with 1 and 2 task slots (issue #13, target 2).

    .venv/bin/python benchmarks/bench_airflow.py [--pages 1000] [--repeat 2]
        [--articles-per-task N] [--articles-per-classify-task N]
        [--output benchmarks/results/airflow.md]

Serves the synthetic newsroom of benchmarks/corpus.py over local HTTP, as
bench_pipeline.py does, then alternates, `--repeat` times, `[core] parallelism` 1 and 2:
starts Airflow's api-server, scheduler and dag-processor (LocalExecutor; the metadata
database is a fresh PostgreSQL database on 127.0.0.1:5432), triggers `newswatch_ingest`
once through the REST API on a fresh newswatch store (a fresh PostgreSQL database, the
FTS5 index in a fresh data directory, politeness delays off) and waits for the run.

For each run: the DAG run's wall time (Airflow's start and end dates), the wall time
from the first extract instance's start to the last classify instance's end, the CPU
time of every Airflow process from trigger to end (services, executor workers, task
processes; not the PostgreSQL server's, nor this process's HTTP servers'), each task
instance's duration, and for each mapped task the seconds during which two of its
instances ran at once. Every page must end `indexed`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from benchmarks.bench_pipeline import environment, serve_corpus  # noqa: E402
from benchmarks.corpus import OUTLETS, build_corpus  # noqa: E402
from benchmarks.local_http import Sites  # noqa: E402
from benchmarks.machine import DescendantsCpu, describe, write_report  # noqa: E402
from tests.alerts.support import free_port  # noqa: E402
from tests.dags.conftest import airflow_command, base_env, create_fetch_pool  # noqa: E402
from tests.dags.services import (  # noqa: E402
    airflow_services,
    log_in,
    service_env,
    task_instances,
    trigger,
    wait_for_dag,
    wait_for_run,
)

RESULTS = ROOT / "benchmarks" / "results" / "airflow.md"
DAG_ID = "newswatch_ingest"
MAPPED = ("poll_feeds", "fetch_pages", "extract", "classify")
SLOTS = (1, 2)
METADATA_DB = "newswatch_bench_airflow"
STORE_DB = "newswatch_bench_store"
RUN_TIMEOUT = 3600.0


@dataclasses.dataclass
class Instance:
    task_id: str
    map_index: int
    start: float  # POSIX seconds
    end: float
    cpu: float  # of the task process (not of its supervisor)
    waited: float  # runnable, waiting for a CPU that other processes held

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclasses.dataclass
class Measured:
    slots: int
    wall: float  # the DAG run, start to end
    span: float  # first extract start to last classify end
    cpu: float  # every Airflow process, trigger to end
    load: float  # one-minute load average at the end
    instances: list[Instance]

    def of(self, task_id: str) -> list[Instance]:
        return [i for i in self.instances if i.task_id == task_id]


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def running(instances: list[Instance], at_least: int) -> float:
    """Seconds during which at least `at_least` of `instances` ran at once."""
    edges = sorted([(i.start, 1) for i in instances] + [(i.end, -1) for i in instances])
    count, since, total = 0, 0.0, 0.0
    for moment, step in edges:
        if count >= at_least:
            total += moment - since
        count, since = count + step, moment
    return total


@contextlib.contextmanager
def fresh_database(admin_url: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped on exit); its SQLAlchemy URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def metadata_env(url: str) -> dict[str, str]:
    # psycopg 3 serves Airflow's async engine too (its default would be asyncpg).
    return {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": url,
    }


def newswatch_env(
    data_dir: Path, store_url: str, sites: Sites, batch_sizes: dict[str, int]
) -> dict[str, str]:
    """bench_pipeline.py's settings (feeds, loopback allowed, no per-host delay), the
    store, and the DAG's: manual runs only, no retries (a failure must show)."""
    shared = environment(data_dir, sites, workers=1)
    env = {k: v for k, v in shared.items() if k.startswith("NEWSWATCH_")}
    env["NEWSWATCH_DATABASE_URL"] = store_url
    env["NEWSWATCH_AIRFLOW"] = json.dumps({"schedule": "", "retries": 0, **batch_sizes})
    return env


def articles_by_status(store_url: str) -> dict[str, int]:
    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, count(*) FROM articles GROUP BY status"))
            return {str(status): int(count) for status, count in rows}
    finally:
        engine.dispose()


def run_once(home: Path, env: dict[str, str], slots: int, store_url: str, pages: int) -> Measured:
    """One DAG run on services started with `slots` task slots; stops them afterwards."""
    port = free_port()
    services, password = service_env(home, port, parallelism=slots)
    env = env | services
    api = f"http://127.0.0.1:{port}"
    with airflow_services(env, home), httpx.Client(base_url=api, timeout=30) as client:
        log_in(client, password, home)
        wait_for_dag(client, DAG_ID, home)
        client.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
        with DescendantsCpu() as cpu:
            run_id = trigger(client, DAG_ID)
            run = wait_for_run(client, DAG_ID, run_id, RUN_TIMEOUT, home)
        tasks = task_instances(client, DAG_ID, run_id)
    if run["state"] != "success":
        failed = [(t["task_id"], t["map_index"], t["state"]) for t in tasks]
        raise SystemExit(f"the DAG run failed: {failed}; logs in {home}")
    statuses = articles_by_status(store_url)
    if statuses != {"indexed": pages}:
        raise SystemExit(f"expected {pages} indexed articles, the store has {statuses}")
    instances = [
        Instance(
            t["task_id"],
            t["map_index"],
            seconds(t["start_date"]),
            seconds(t["end_date"]),
            cpu.seconds_of(t["pid"]) if t.get("pid") else 0.0,
            cpu.waited_of(t["pid"]) if t.get("pid") else 0.0,
        )
        for t in tasks
        if t["start_date"] and t["end_date"]  # a skipped task never started
    ]
    extract = [i.start for i in instances if i.task_id == "extract"]
    classify = [i.end for i in instances if i.task_id == "classify"]
    return Measured(
        slots=slots,
        wall=seconds(run["end_date"]) - seconds(run["start_date"]),
        span=max(classify) - min(extract),
        cpu=cpu.seconds,
        load=os.getloadavg()[0],
        instances=instances,
    )


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "–"


def report(args: argparse.Namespace, pages: int, runs: list[Measured]) -> list[str]:
    by_slots = {s: [r for r in runs if r.slots == s] for s in SLOTS}
    one, two = by_slots[1], by_slots[2]
    lines = [
        "# The ingest DAG under Airflow with 1 and 2 task slots",
        "",
        f"Command: `benchmarks/bench_airflow.py --pages {args.pages} --repeat {args.repeat}"
        + (f" --articles-per-task {args.articles_per_task}" if args.articles_per_task else "")
        + (
            f" --articles-per-classify-task {args.articles_per_classify_task}"
            if args.articles_per_classify_task
            else ""
        )
        + f" --output {os.path.relpath(args.output, ROOT)}`  ",
        describe(),
        "",
        f"{pages:,} pages of benchmarks/corpus.py from {len(OUTLETS)} outlets over local HTTP. "
        "Airflow 3 with the LocalExecutor, `[core] parallelism` 1 or 2 (in the order 1, 2, 2, "
        "1, …), metadata database and newswatch store on the local PostgreSQL (a fresh store "
        "database per run), FTS5 index. Wall = the DAG run's start to end in Airflow; "
        "extract→classify = first extract instance's start to last classify instance's end; CPU"
        " = user + system of every Airflow process from trigger to end (the PostgreSQL server's"
        " not counted).",
        "",
        "| run | slots | DAG wall s | extract→classify wall s | CPU s | load (1 min) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {n} | {r.slots} | {r.wall:.1f} | {r.span:.1f} | {r.cpu:.1f} | {r.load:.1f} |"
        for n, r in enumerate(runs, 1)
    ]
    pairs = list(zip(one, two, strict=False))
    lines += [
        "",
        "| measure (median over repeats) | 1 slot | 2 slots | 2 / 1 |",
        "|---|---:|---:|---:|",
    ]
    measures: list[tuple[str, Callable[[Measured], float]]] = [
        ("DAG wall s", lambda r: r.wall),
        ("extract→classify wall s", lambda r: r.span),
        ("CPU s, all processes", lambda r: r.cpu),
    ]
    for name, get in measures:
        ratios = [get(a) / get(b) if "CPU" not in name else get(b) / get(a) for a, b in pairs]
        label = "speed-up (1 / 2)" if "CPU" not in name else "CPU 2 / 1"
        lines.append(
            f"| {name} | {median([get(r) for r in one])} | {median([get(r) for r in two])} "
            f"| {label} {statistics.median(ratios):.2f} ({', '.join(f'{x:.2f}' for x in ratios)}) |"
        )
    lines += [
        "",
        "Per task, medians over repeats: its instances, the sum of their durations (Airflow's "
        "start to end), of their CPU seconds (the task process, without its supervisor) and of "
        "the seconds they were ready to run but waited for a CPU held by other processes "
        "(`/proc/PID/schedstat`); what remains of a duration is waiting on I/O, the "
        "database or a lock. For a mapped task, the seconds during which two of its instances "
        "ran at once.",
        "",
        "| task | instances | 1 slot: s | CPU s | waited for a CPU s | 2 slots: s | CPU s "
        "| waited for a CPU s | 2 slots: side by side s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for task_id in dict.fromkeys(i.task_id for i in runs[0].instances):
        cells = [str(len(runs[0].of(task_id)))]
        for group in (one, two):
            cells.append(median([sum(i.seconds for i in r.of(task_id)) for r in group]))
            cells.append(median([sum(i.cpu for i in r.of(task_id)) for r in group]))
            cells.append(median([sum(i.waited for i in r.of(task_id)) for r in group]))
        cells.append(median([running(r.of(task_id), 2) for r in two]) if task_id in MAPPED else "")
        lines.append(f"| {task_id} | {' | '.join(cells)} |")
    tasks_cpu = [sum(i.cpu for i in r.instances) / r.cpu for r in runs]
    lines += [
        "",
        f"The task processes account for {min(tasks_cpu):.0%}–{max(tasks_cpu):.0%} of the CPU "
        "of a run; the rest is the scheduler, the api-server, the dag-processor, the executor's "
        "workers and the tasks' supervisors.",
        "",
        *where_time_goes(one),
        "",
        *timeline(two[-1]),
    ]
    return lines


def where_time_goes(one_slot: list[Measured]) -> list[str]:
    """The 1-slot run's wall split into mapped tasks, other tasks and no task running,
    and the speed-up 2 slots could give if only the mapped tasks' time halved."""
    mapped = [running([i for i in r.instances if i.task_id in MAPPED], 1) for r in one_slot]
    busy = [running(r.instances, 1) for r in one_slot]
    walls = [r.wall for r in one_slot]
    bound = [w / (w - m / 2) for w, m in zip(walls, mapped, strict=True)]
    return [
        "Where the 1-slot DAG run's wall time goes (median over repeats): a mapped task "
        "running; another task running; no task running (the scheduler's turn-around and "
        "each task's start before Airflow records it as running). If 2 slots halved the "
        "mapped tasks' time and nothing else, the DAG run would be faster by at most the "
        "last figure.",
        "",
        "| DAG wall s | mapped tasks s | other tasks s | no task running s | bound on the "
        "speed-up |",
        "|---:|---:|---:|---:|---:|",
        f"| {median(walls)} | {median(mapped)} "
        f"| {median([b - m for b, m in zip(busy, mapped, strict=True)])} "
        f"| {median([w - b for w, b in zip(walls, busy, strict=True)])} "
        f"| {statistics.median(bound):.2f} |",
    ]


def timeline(run: Measured) -> list[str]:
    """The mapped extract and classify instances of one run, on the run's clock."""
    zero = min(i.start for i in run.instances)
    lines = [
        "Mapped extract and classify instances of the last 2-slot run (seconds from the "
        "run's first task):",
        "",
        "| task | map index | start | end | s | CPU s | waited for a CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for i in sorted(run.of("extract") + run.of("classify"), key=lambda i: i.start):
        lines.append(
            f"| {i.task_id} | {i.map_index} | {i.start - zero:.1f} | {i.end - zero:.1f} "
            f"| {i.seconds:.1f} | {i.cpu:.1f} | {i.waited:.1f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--articles-per-task", type=int, help="default: the setting's")
    parser.add_argument("--articles-per-classify-task", type=int, help="default: the setting's")
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="a connection that may create and drop the benchmark's databases",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="the report's path")
    parser.add_argument("--raw", type=Path, help="also write every run's measurements (JSON)")
    args = parser.parse_args()
    batch_sizes = {
        key: value
        for key, value in (
            ("articles_per_task", args.articles_per_task),
            ("articles_per_classify_task", args.articles_per_classify_task),
        )
        if value
    }
    pages = build_corpus(args.pages)
    runs: list[Measured] = []
    with (
        tempfile.TemporaryDirectory(prefix="newswatch-bench-airflow-") as tmp,
        fresh_database(args.postgres, METADATA_DB) as metadata_url,
        Sites(len(OUTLETS)) as sites,
    ):
        home = Path(tmp) / "airflow"
        home.mkdir()
        airflow_env = base_env(home) | metadata_env(metadata_url)
        airflow_command(airflow_env, home, "db", "migrate")
        create_fetch_pool(airflow_env, home, slots=max(SLOTS))
        serve_corpus(sites, pages)
        for repeat in range(args.repeat):
            # 1, 2, then 2, 1: a load that drifts over the runs favours neither.
            for slots in SLOTS if repeat % 2 == 0 else SLOTS[::-1]:
                data_dir = Path(tmp) / f"data-{repeat}-{slots}"
                with fresh_database(args.postgres, STORE_DB) as store_url:
                    env = airflow_env | newswatch_env(data_dir, store_url, sites, batch_sizes)
                    began = time.perf_counter()
                    runs.append(run_once(home, env, slots, store_url, len(pages)))
                done = runs[-1]
                print(
                    f"repeat {repeat + 1}, {slots} slot(s): wall {done.wall:.1f} s, "
                    f"extract→classify {done.span:.1f} s, CPU {done.cpu:.1f} s, "
                    f"load {done.load:.1f} ({time.perf_counter() - began:.0f} s with start-up)",
                    flush=True,
                )
    if args.raw:
        args.raw.write_text(json.dumps([dataclasses.asdict(r) for r in runs], indent=1))
    write_report(args.output, report(args, len(pages), runs))


if __name__ == "__main__":
    main()
