"""Every newswatch setting, in one place.

Settings come from, highest priority first:

1. ``NEWSWATCH_*`` environment variables. Nested settings use ``__``:
   ``NEWSWATCH_FETCH__READ_TIMEOUT_SECONDS=20``. Lists and tables are JSON:
   ``NEWSWATCH_FETCH__ALLOWED_NETWORKS='["127.0.0.0/8"]'``.
2. A TOML file: ``$NEWSWATCH_CONFIG`` if set, else ``./newswatch.toml`` if present.
3. The defaults below.

Each field says why it exists; ``docs/configuration.md`` lists them all.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_USER_AGENT = "newswatch/0.1 (news monitoring bot)"
DEFAULT_FEEDS_FILE = Path(__file__).parent / "data" / "feeds.toml"
DEFAULT_BACKFILL_SITES_FILE = Path(__file__).parent / "data" / "backfill_sites.toml"
Perspective = Literal["uk", "china", "international"]


class FeedConfig(BaseModel):
    """One feed to poll. Fields left unset fall back to the ``[poll]`` defaults."""

    name: str = Field(description="Stable short name; the key for the feed's stored state.")
    url: str = Field(description="RSS or Atom URL.")
    enabled: bool = Field(
        True, description="Disabled feeds are kept (with their state) but not polled."
    )
    poll_interval_minutes: int | None = Field(
        None, ge=1, description="Overrides poll.interval_minutes for this feed."
    )
    ignore_robots: bool = Field(
        False,
        description="Poll this feed and fetch its articles even where robots.txt disallows "
        "them. Off by default; only for outlets that have granted permission.",
    )
    perspective: Perspective = Field(
        "international",
        description="Whose side of UK-China relations the outlet speaks for: 'uk' (UK outlets "
        "and government), 'china' (Chinese official and state media), 'international' "
        "(everyone else). Stored with each article (first feed wins), shown on its page and in "
        "/api/articles.",
    )


class RunSettings(BaseModel):
    workers: int = Field(
        1,
        ge=1,
        description="Processes `newswatch run` spreads fetch, extract and classify over: the "
        "waiting articles are split into batches, as for the ingest DAG's mapped tasks (1: "
        "every stage in the run's own process). About one per core. With more than one, each "
        "worker keeps fetch's per-host concurrency for itself (the per-host delay holds "
        "across them) and extracts in its own process (extract.workers is not used).",
    )


class PollSettings(BaseModel):
    interval_minutes: int = Field(30, ge=1, description="How often a healthy feed is polled.")
    max_backoff_minutes: int = Field(
        24 * 60, ge=1, description="Ceiling for the exponential backoff of a failing feed."
    )
    max_entries_per_poll: int = Field(
        500, ge=1, description="Entries read from one feed document; protects against giant feeds."
    )
    concurrency: int = Field(
        32,
        ge=1,
        description="Feed documents in flight at once, over all hosts (the per-host limit and "
        "delay are fetch's). Feeds are small, so a poll cycle is mostly waiting on the network.",
    )
    parse_workers: int = Field(
        1,
        ge=1,
        description="Processes that parse changed feed documents (feedparser) while the next "
        "ones download (1: in the polling process). Worth one per core for a poll of hundreds "
        "of feeds; a mapped Airflow poll task of a few feeds gains nothing from it.",
    )


class FetchSettings(BaseModel):
    user_agent: str = Field(
        DEFAULT_USER_AGENT,
        description="Sent on every request; names the project. Add your newsroom's contact "
        "(URL or email) in production so site owners can reach you.",
    )
    connect_timeout_seconds: float = Field(10.0, gt=0, description="TCP/TLS connect timeout.")
    read_timeout_seconds: float = Field(20.0, gt=0, description="Timeout between received bytes.")
    total_timeout_seconds: float = Field(
        60.0, gt=0, description="Wall-clock cap on one download, against slow-drip servers."
    )
    max_redirects: int = Field(5, ge=0, description="Redirect hops followed before giving up.")
    max_body_bytes: int = Field(
        5_000_000, ge=1024, description="Cap on the body as sent on the wire (compressed)."
    )
    max_decompressed_bytes: int = Field(
        5_000_000,
        ge=1024,
        description="Cap on the body after gzip/deflate/br decoding (zip bombs).",
    )
    concurrency: int = Field(8, ge=1, description="Downloads in flight at once, over all hosts.")
    per_host_concurrency: int = Field(2, ge=1, description="Downloads in flight at once per host.")
    per_host_delay_seconds: float = Field(
        0.5, ge=0, description="Minimum gap between two requests to one host."
    )
    max_attempts: int = Field(
        4, ge=1, description="Attempts per article (over runs) before a transient failure is final."
    )
    retry_backoff_seconds: float = Field(
        60.0, ge=0, description="Base of the exponential backoff between attempts across runs."
    )
    batch_size: int = Field(
        16, ge=1, description="Articles the fetch stage claims, downloads and commits at a time."
    )
    in_run_retries: int = Field(
        2, ge=0, description="Immediate retries inside one run for timeouts and 5xx."
    )
    in_run_retry_delay_seconds: float = Field(
        1.0, ge=0, description="Base delay of in-run retries."
    )
    max_retry_after_seconds: int = Field(
        6 * 3600, ge=0, description="A Retry-After longer than this is clipped to it."
    )
    respect_robots: bool = Field(
        True,
        description="Obey robots.txt for feeds and pages (per-feed override: ignore_robots).",
    )
    max_crawl_delay_seconds: float = Field(
        30.0,
        ge=0,
        description="A robots.txt Crawl-delay raises the per-host delay up to this; longer "
        "ones are clipped, so one site cannot hold a run for hours.",
    )
    allowed_networks: list[str] = Field(
        default_factory=list,
        description="CIDR ranges exempt from the SSRF guard (e.g. 127.0.0.0/8 for tests and the "
        "demo). Private, loopback, link-local, multicast and reserved addresses are refused "
        "unless listed here.",
    )


class ExtractSettings(BaseModel):
    min_words: int = Field(
        60,
        ge=1,
        description="Pages with fewer words of body text are 'no_content' (stubs, indexes).",
    )
    favor_precision: bool = Field(
        True, description="trafilatura: prefer dropping chrome over keeping text."
    )
    batch_size: int = Field(
        100, ge=1, description="Articles the extract stage claims and commits at a time."
    )
    workers: int = Field(
        1,
        ge=1,
        description="Processes that run trafilatura in parallel (1: in the stage's own "
        "process). Extraction is CPU-bound; about one per core. Under Airflow, mapped tasks "
        "spread over workers instead.",
    )


class DedupSettings(BaseModel):
    num_perm: int = Field(128, ge=16, description="MinHash permutations; more is slower but finer.")
    shingle_words: int = Field(
        5, ge=1, description="Word shingle length for near-duplicate fingerprints."
    )
    lsh_threshold: float = Field(
        0.5, gt=0, lt=1, description="Jaccard estimate at which LSH proposes a candidate pair."
    )
    duplicate_threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Containment of the shorter text in the longer one at which two articles are "
        "copies of one story.",
    )
    follow_up_threshold: float = Field(
        0.3,
        gt=0,
        le=1,
        description="Seed-relation score at which an article is related to the seed: a "
        "follow-up, or background if it was published before the seed.",
    )
    seeds: list[str] = Field(
        default_factory=lambda: ["builtin:seed_article"],
        description="Seed stories: 'builtin:NAME', file paths or URLs. "
        "The first is the default seed.",
    )
    threads_file: Path | None = Field(
        None,
        description="Thread (storyline) labels and angle keyword lists; default: the shipped "
        "threads.json. Optional for relations: its 'seeds' names the seeds whose storylines "
        "it describes (shipped: seed_article); every other seed is related by its own story "
        "(its distinctive terms and meaning) and its follow-ups are grouped into developments "
        "without any keyword list; a file with empty 'threads' and 'angles' turns keyword "
        "storylines off.",
    )
    passage_min_words: int = Field(
        8,
        ge=3,
        description="Sentences at least this long are indexed as passages, so teasers and long "
        "updates (low Jaccard, high containment) are still found as candidate copies.",
    )
    minhash_window_days: int = Field(
        30,
        ge=1,
        description="MinHash (LSH) candidates are articles dated within this many days of "
        "the article: syndicated and edited copies of news appear within hours or days. "
        "Older copies are still found through the passage index, which has no window.",
    )
    batch_size: int = Field(
        200, ge=1, description="Articles the classify stage claims and commits at a time."
    )
    rewrite_threshold: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Lexical similarity to a seed (1 = the seed itself) at which an article "
        "that shares little wording, published within the same-day tolerance, is still the "
        "seed's story rewritten, i.e. a duplicate.",
    )
    same_event_threshold: float = Field(
        0.45,
        gt=0,
        le=1,
        description="Semantic similarity of an article's lead (title and first words, "
        "embedded) to a seed's at which a report within the same-day tolerance is the seed's "
        "event reported independently, i.e. a duplicate.",
    )
    event_cluster_threshold: float = Field(
        0.65,
        gt=0,
        le=1,
        description="Semantic similarity of two articles' leads at which two reports within "
        "the same-day tolerance are one event and share a story cluster. Stricter than "
        "same_event_threshold: a busy day has many stories on one subject.",
    )
    event_cross_lingual_threshold: float = Field(
        0.55,
        gt=0,
        le=1,
        description="Across scripts (an English and a Chinese report, which share no words): "
        "semantic similarity of an article's lead to the centroid of a story's reports in the "
        "other script, within the same-day tolerance, at which it can join that story (if no "
        "other report in its own script is closer to that story).",
    )
    same_day_tolerance_days: int = Field(
        1,
        ge=0,
        description="Days either side of the seed's publication day (UTC) within which a "
        "report can be the same event; related coverage dated before the seed's day is "
        "background, after it a follow-up. Time zones and overnight reports need one day.",
    )


class ElasticsearchSettings(BaseModel):
    url: str = Field("http://127.0.0.1:9200", description="Cluster URL.")
    api_key: SecretStr | None = Field(None, description="API key (preferred over basic auth).")
    username: str | None = Field(None, description="Basic-auth user.")
    password: SecretStr | None = Field(None, description="Basic-auth password.")
    ca_certs: Path | None = Field(None, description="CA bundle for a cluster with its own CA.")
    verify_certs: bool = Field(True, description="Turn off only for a throwaway local cluster.")
    request_timeout_seconds: float = Field(30.0, gt=0, description="Per-request timeout.")
    index_prefix: str = Field(
        "newswatch-articles",
        description="Monthly indices PREFIX-vN-YYYY.MM (N: the generation) behind aliases.",
    )
    bulk_chunk_size: int = Field(500, ge=1, description="Documents per bulk request.")
    bulk_max_bytes: int = Field(
        10_000_000,
        ge=100_000,
        description="Bytes per bulk request (besides bulk_chunk_size): long articles must not "
        "make a request the cluster refuses (http.max_content_length, 100 MB by default) or "
        "that fills its indexing memory.",
    )
    server_major: Literal[8, 9] = Field(
        9,
        description="Major version of the Elasticsearch servers: 9, or 8, for which the "
        "client (version 9) sends compatible-with=8 media types that 8.x servers accept.",
    )

    @model_validator(mode="before")
    @classmethod
    def _credentials_out_of_url(cls, data: Any) -> Any:
        """https://user:pass@host → username/password: a URL shows in every repr and log line."""
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return data
        parts = urlsplit(data["url"])
        if parts.username is None:
            return data
        host = parts.netloc.rpartition("@")[2]
        return {
            **data,
            "url": urlunsplit(parts._replace(netloc=host)),
            "username": data.get("username") or unquote(parts.username),
            "password": data.get("password") or (parts.password and unquote(parts.password)),
        }


class IndexSettings(BaseModel):
    backend: Literal["sqlite", "elasticsearch"] = Field(
        "sqlite", description="'sqlite' (embedded FTS5) or 'elasticsearch'."
    )
    batch_size: int = Field(500, ge=1, description="Articles taken from the outbox per batch.")
    max_attempts: int = Field(8, ge=1, description="Index attempts before an article is 'failed'.")
    retry_backoff_seconds: float = Field(
        30.0, ge=0, description="Base of the outbox retry backoff."
    )
    max_text_chars: int = Field(
        200_000, ge=1000, description="Article text beyond this is cut before indexing."
    )
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)


class SmtpSettings(BaseModel):
    host: str = Field("127.0.0.1", description="SMTP server.")
    port: int = Field(25, description="SMTP port (587 for STARTTLS submission).")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS.")
    username: str | None = Field(None, description="SMTP auth user.")
    password: SecretStr | None = Field(None, description="SMTP auth password.")
    sender: str = Field("newswatch@localhost", description="From: address of alert emails.")
    timeout_seconds: float = Field(20.0, gt=0, description="Connection timeout.")
    ca_file: Path | None = Field(
        None, description="CA bundle to verify the server's STARTTLS certificate (private CA)."
    )


class AlertSettings(BaseModel):
    rules_file: Path | None = Field(None, description="Alert rules (JSON); default: shipped rules.")
    max_attempts: int = Field(
        6, ge=1, description="Delivery attempts before it is parked as failed."
    )
    retry_backoff_seconds: float = Field(60.0, ge=0, description="Base of delivery retry backoff.")
    batch_size: int = Field(
        200, ge=1, description="Articles the alerts stage claims, matches and commits at a time."
    )
    webhook_secret: SecretStr | None = Field(None, description="HMAC key for webhook signatures.")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="Webhook POST timeout.")
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    channels: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Alert channels by name (log, webhook, email, atom; format in "
        "docs/alerts.md), added to those of the rules file and overriding same-named ones, so "
        "each deployment can point the rules at its own webhooks and mailboxes.",
    )
    new_rule_grace_minutes: float = Field(
        60.0,
        ge=0,
        description="A new rule also counts articles discovered up to this long before the "
        "alerts stage first saw it (the rest of the run that added it); older coverage never "
        "alerts, so adding a rule does not flood subscribers with back-filled stories.",
    )


class ApiSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Bind address of `newswatch serve`.")
    port: int = Field(8080, description="Port of `newswatch serve`.")
    api_key: SecretStr | None = Field(None, description="If set, /api/* needs X-API-Key.")
    cors_origins: list[str] = Field(
        default_factory=list, description="CORS allow-list; off if empty."
    )
    max_page_size: int = Field(100, ge=1, description="Largest page a search may ask for.")
    max_request_bytes: int = Field(65_536, ge=1024, description="Largest request body accepted.")
    workers: int = Field(
        2,
        ge=1,
        description="Worker processes of `newswatch serve`; searches are CPU-bound, so about "
        "one per core (2: the 2-core machine the benchmarks describe). Each holds its own "
        "caches and read connections; more workers than cores only add memory and contention.",
    )
    cache_seconds: float = Field(
        60.0,
        ge=0,
        description="How long search pages, thread summaries, timelines and other-sides "
        "links are reused at most, per worker (0: never cached). A run that indexes "
        "articles makes every worker compute them afresh at the next request; this bound "
        "covers what no index run signals, such as retention's deletions.",
    )


class RetentionSettings(BaseModel):
    enabled: bool = Field(
        False,
        description="Delete old articles from the store and the index. Off by default: an "
        "archive is usually worth more than the disk it takes.",
    )
    keep_days: int = Field(
        365,
        ge=1,
        description="Articles published (else discovered) longer ago than this are deleted "
        "when retention is enabled.",
    )


class AirflowSettings(BaseModel):
    schedule: str = Field(
        "*/30 * * * *",
        description="When the ingest DAG runs: a cron expression or preset; empty: only when "
        "triggered.",
    )
    feeds_per_task: int = Field(
        10, ge=1, description="Feeds per mapped poll task; smaller batches use more workers."
    )
    articles_per_task: int = Field(
        100,
        ge=1,
        description="Articles per mapped fetch and extract task; smaller batches use more workers.",
    )
    articles_per_classify_task: int = Field(
        500,
        ge=1,
        description="Articles per mapped classify task. Larger than articles_per_task because "
        "each classify instance first loads the seed profiles, the embedding model and the "
        "near-duplicate index.",
    )
    retries: int = Field(3, ge=0, description="Retries of a failed DAG task.")
    retry_delay_seconds: float = Field(
        60.0, ge=0, description="First retry delay; it doubles with each further retry."
    )
    max_retry_delay_seconds: float = Field(1800.0, ge=0, description="Ceiling of the retry delay.")
    task_timeout_minutes: float = Field(
        30.0, gt=0, description="execution_timeout of each ingest task: a hung task is killed."
    )
    maintenance_timeout_minutes: float = Field(
        240.0, gt=0, description="execution_timeout of the maintenance tasks (a full rebuild)."
    )
    elasticsearch_conn_id: str = Field(
        "newswatch_elasticsearch",
        description="Airflow Connection whose host, login, password and extra (api_key, "
        "ca_certs, verify_certs) override index.elasticsearch under Airflow.",
    )
    database_conn_id: str = Field(
        "newswatch_db",
        description="Airflow Connection whose URI (e.g. postgresql+psycopg://user:pass@host/db) "
        "overrides database_url under Airflow.",
    )
    smtp_conn_id: str = Field(
        "newswatch_smtp",
        description="Airflow Connection whose host, port, login, password and extra (starttls, "
        "sender) override alerts.smtp under Airflow.",
    )
    webhook_conn_id: str = Field(
        "newswatch_webhook",
        description="Airflow Connection whose password overrides alerts.webhook_secret under "
        "Airflow.",
    )
    max_fetch_batches: int = Field(
        200,
        ge=1,
        le=1000,
        description="Mapped fetch instances planned per ingest run. Airflow refuses to expand "
        "a task into more than [core] max_map_length (1024) instances, so articles beyond "
        "max_fetch_batches × articles_per_task wait for the next run (counted as "
        "fetch_deferred in the summary). Extract and classify are planned in at most as many "
        "batches, made larger rather than leaving articles behind.",
    )
    fetch_pool: str = Field(
        "newswatch_fetch",
        description="Airflow pool of the fetch tasks: its slots bound page downloads over "
        "every run and worker. Create it before the first run (airflow pools set "
        "newswatch_fetch 4 ...); docker/ does.",
    )
    fetch_max_active_per_run: int = Field(
        4, ge=1, description="Fetch instances of one DAG run that may run at once."
    )
    ingest_dagrun_timeout_minutes: float = Field(
        120.0,
        gt=0,
        description="dagrun_timeout of the ingest DAG: a run still going after this is failed "
        "(and notified), so a stuck run cannot block the next ones (max_active_runs=1).",
    )
    maintenance_dagrun_timeout_minutes: float = Field(
        480.0, gt=0, description="dagrun_timeout of the maintenance DAG."
    )
    backfill_dagrun_timeout_minutes: float = Field(
        1440.0,
        gt=0,
        description="dagrun_timeout of the backfill DAG; a run that has not finished walking "
        "and fetching by then is stopped and resumes where it left off when triggered again.",
    )
    failure_channels: list[str] = Field(
        default_factory=list,
        description="Alert channels (webhook or email, by name, as in alerts.channels or the "
        "rules file) told when a DAG run fails, with the failed tasks and a link to the run.",
    )
    ui_url: str | None = Field(
        None,
        description="Base URL of the Airflow UI for links in failure notices; default: "
        "Airflow's [api] base_url.",
    )


class ObservabilitySettings(BaseModel):
    log_format: Literal["text", "json"] = Field(
        "text",
        description="'json': one JSON object per log line (for Loki, Elasticsearch or "
        "CloudWatch); 'text': plain lines for a terminal.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO",
        description="Level of the newswatch loggers in JSON mode (INFO shows one line per "
        "stage batch).",
    )
    metrics_textfile: Path | None = Field(
        None,
        description="After each stage, write the pipeline metrics in Prometheus text format "
        "to this file (point node-exporter's textfile collector at its directory). Works from "
        "any Airflow worker that shares the directory.",
    )
    metrics_pushgateway: str | None = Field(
        None,
        description="After each stage, push the pipeline metrics to this Prometheus "
        "Pushgateway (e.g. http://pushgateway:9091), for workers without a shared disk.",
    )
    metrics_job: str = Field("newswatch", description="Job label of pushed metrics.")


class BackfillSite(BaseModel):
    """A site whose sitemaps `newswatch backfill` (and the backfill DAG) may walk."""

    name: str = Field(description="Short name, used in reports and as the DAG's site key.")
    url: str = Field(
        description="The site's home page (scheme and host); sitemaps are found "
        "from its robots.txt, else at /sitemap.xml."
    )


class BackfillSettings(BaseModel):
    sites: list[BackfillSite] = Field(
        default_factory=lambda: default_backfill_sites(),
        description="Sites the backfill DAG walks when triggered without a `sites` param; "
        "default: the documented UK–China list in pipeline/data/backfill_sites.toml.",
    )
    max_pages: int = Field(
        100, ge=0, description="Pages fetched per site in one backfill run (--max-pages)."
    )
    daily_pages_per_site: int = Field(
        500,
        ge=0,
        description="Backfill pages fetched from one site per UTC day over all runs, so an "
        "archive is read over days rather than in one burst.",
    )
    min_score: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Relevance pre-filter: a candidate whose URL slug and sitemap title score "
        "below this against the seed is not kept (0 keeps everything in the date range).",
    )
    semantic_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Relevance pre-filter: the share of the sentence-embedding score in a "
        "candidate's score; the lexical score (seed key terms and storyline terms) has the "
        "rest. 0 is lexical only, 1 semantic only.",
    )
    alerts: bool = Field(
        False,
        description="Let backfilled articles raise alerts. Off: old coverage found by a "
        "backfill is searchable but never notifies anyone.",
    )
    per_host_delay_seconds: float = Field(
        1.0,
        ge=0,
        description="Minimum gap between two backfill requests to one host (sitemaps and "
        "pages); never below fetch.per_host_delay_seconds, so backfill is politer than ingest.",
    )
    max_sitemap_bytes: int = Field(
        50_000_000,
        ge=1024,
        description="Cap on one sitemap file after decompression (the protocol's limit is "
        "50 MB); it is parsed as it streams in, never held whole.",
    )
    sitemap_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="Wall-clock cap on reading one sitemap file (they are larger than pages).",
    )
    max_sitemaps_per_site: int = Field(
        5000,
        ge=1,
        description="Sitemap files read per site and date range: a bound on runaway or "
        "generated sitemap trees.",
    )
    max_depth: int = Field(
        4, ge=1, description="Nesting of sitemap indexes followed below the root sitemaps."
    )
    write_batch: int = Field(
        2000, ge=1, description="Candidate URLs written to the store per transaction."
    )
    sitemaps_per_task: int = Field(
        20, ge=1, description="Sitemaps per mapped walk task of the backfill DAG."
    )
    airflow_pool: str = Field(
        "newswatch_backfill",
        description="Airflow pool of the backfill DAG's network tasks; create it with few "
        "slots so backfill never takes the workers live ingest needs.",
    )
    airflow_priority_weight: int = Field(
        0,
        description="priority_weight of backfill tasks, with weight_rule 'absolute'. Ingest "
        "tasks keep Airflow's default (1, summed downstream), so they go first when both "
        "wait for a slot.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSWATCH_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(
        Path("data"), description="All local state: store, index, feeds, caches."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///DATA_DIR/newswatch.db."
    )
    feeds: list[FeedConfig] = Field(
        default_factory=lambda: default_feeds(),
        description="Feeds to poll; default: the curated list in pipeline/data/feeds.toml.",
    )
    run: RunSettings = Field(default_factory=RunSettings)
    poll: PollSettings = Field(default_factory=PollSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    airflow: AirflowSettings = Field(default_factory=AirflowSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)

    @field_validator("feeds")
    @classmethod
    def _unique_feed_names(cls, feeds: list[FeedConfig]) -> list[FeedConfig]:
        names = [f.name for f in feeds]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"feed names must be unique; repeated: {', '.join(dupes)}")
        return feeds

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = config_file_path()
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'newswatch.db').resolve()}"

    def feed(self, name: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.name == name), None)


def default_feeds() -> list[FeedConfig]:
    """The curated UK–China feed list shipped with the package (see docs/feeds.md)."""
    if not DEFAULT_FEEDS_FILE.is_file():
        return []
    with DEFAULT_FEEDS_FILE.open("rb") as handle:
        return [FeedConfig(**feed) for feed in tomllib.load(handle).get("feeds", [])]


def default_backfill_sites() -> list[BackfillSite]:
    """The documented UK–China backfill sites shipped with the package (docs/backfill.md)."""
    if not DEFAULT_BACKFILL_SITES_FILE.is_file():
        return []
    with DEFAULT_BACKFILL_SITES_FILE.open("rb") as handle:
        return [BackfillSite(**site) for site in tomllib.load(handle).get("sites", [])]


def config_file_path() -> Path | None:
    """The TOML file in force: $NEWSWATCH_CONFIG, else ./newswatch.toml if it exists."""
    explicit = os.environ.get("NEWSWATCH_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"NEWSWATCH_CONFIG points at {path}, which is not a file")
        return path
    local = Path("newswatch.toml")
    return local if local.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Settings with explicit overrides on top (used by tests, the demo and the CLI flags)."""
    return Settings(**overrides)
