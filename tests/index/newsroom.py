"""The shared test corpus of the index tests, and the one factory for IndexDocuments.

`DOCS` is a small newsroom that the contract tests (and others) index into every
backend: stories copied by several outlets (clusters), threads, relations, an undated
article, spread over March 2021. Article text is written for these tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.records import IndexDocument

INDEXED_AT = datetime(2021, 3, 20, tzinfo=UTC)


def make_doc(
    article_id: str,
    title: str,
    text: str,
    published: datetime | str | None = None,
    outlet: str = "Northgate Herald",
    domain: str = "northgate-herald.example",
    *,
    threads: tuple[str, ...] = (),
    relation: str | None = "unrelated",
    language: str = "en",
    cluster_id: str | None = None,
    perspective: str | None = None,
) -> IndexDocument:
    """A document; a `published` string is an ISO time in UTC."""
    if isinstance(published, str):
        published = datetime.fromisoformat(published).replace(tzinfo=UTC)
    return IndexDocument(
        article_id=article_id,
        canonical_url=f"https://{domain}/{article_id}",
        title=title,
        text=text,
        published_at=published,
        date_source="page" if published else "none",
        indexed_at=INDEXED_AT,
        outlet=outlet,
        domain=domain,
        language=language,
        threads=threads,
        relation=relation,
        cluster_id=cluster_id,
        perspective=perspective,
    )


BAN_TEXT = (
    "Regulators ordered telecom carriers to remove Huawei antennas from their 5G masts "
    "before 2026, citing fresh export sanctions."
)


DOCS = [
    make_doc(
        "port-deal",
        "Harbour authority signs terminal lease",
        "The harbour authority signed a thirty-year lease for the container terminal, which "
        "the chair called part of a grand strategy for the river.",
        "2021-03-01T08:00",
        "Harbour Times",
        "harbourtimes.example",
        threads=("ports",),
    ),
    make_doc(
        "ban-wire",
        "Carriers told to remove Huawei antennas",
        BAN_TEXT,
        "2021-03-02T09:00",
        "Wire Daily",
        "wiredaily.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-ban",
        perspective="uk",
    ),
    make_doc(
        "ban-coast",
        "Carriers told to remove Huawei antennas",
        BAN_TEXT,
        "2021-03-02T10:00",
        "Coastal Gazette",
        "coastal-gazette.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-ban",
    ),
    make_doc(
        "ban-midlands",
        "Carriers told to remove Huawei antennas",
        BAN_TEXT,
        "2021-03-02T11:00",
        "Midlands Post",
        "midlandspost.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-ban",
    ),
    make_doc(
        "ban-analysis",
        "Why the antenna ruling matters",
        "Analysts say the ruling on Huawei antennas will slow the 5G rollout and raise costs "
        "for carriers in rural areas.",
        "2021-03-03T12:00",
        "Midlands Post",
        "midlandspost.example",
        threads=("huawei-5g",),
        relation="follow_up",
    ),
    make_doc(
        "hk-bill",
        "Extradition bill shelved after weeks of unrest",
        "Lawmakers in Hong Kong shelved the extradition bill after weeks of street protests. "
        "Critics said the proposal would have let suspects be extradited to the mainland.",
        "2021-03-08T09:00",
        "Harbour Times",
        "harbourtimes.example",
        threads=("hong-kong",),
        relation="follow_up",
    ),
    make_doc(
        "hk-markets",
        "Hong Kong shares rally",
        "Shares climbed on Tuesday as traders shrugged off political worries.",
        "2021-03-09T07:00",
        "Eastern Ledger",
        "easternledger.example",
        threads=("hong-kong",),
        perspective="china",
    ),
    make_doc(
        "cafe-rents",
        "Café owners march against rent rises",
        "Owners of a café near the harbour joined a protest against rent rises.",
        "2021-03-09T15:00",
        "Harbour Times",
        "harbourtimes.example",
    ),
    make_doc(
        "zurich-talks",
        "Réunion à Zürich sur le programme atomique",
        "Les diplomates réunis à Zürich ont discuté du programme atomique et des sanctions.",
        "2021-03-10T10:00",
        "Le Veilleur",
        "leveilleur.example",
        threads=("nuclear",),
        language="fr",
    ),
    make_doc(
        "vienna-resume",
        "Nuclear talks resume in Vienna",
        "Envoys returned to Vienna to resume nuclear talks, hoping to revive the agreement "
        "and lift sanctions on oil exports.",
        "2021-03-15T09:00",
        "Wire Daily",
        "wiredaily.example",
        threads=("nuclear",),
        relation="follow_up",
        perspective="uk",
    ),
    make_doc(
        "vienna-stall",
        "Vienna nuclear talks stall",
        "The nuclear talks in Vienna stalled as envoys argued over which sanctions on oil "
        "exports to lift first.",
        "2021-03-16T09:00",
        "Coastal Gazette",
        "coastal-gazette.example",
        threads=("nuclear",),
    ),
    make_doc(
        "lab-opening",
        "Huawei opens a software lab",
        'Huawei opened a research & development lab for network software, with a "<10 ms" '
        "latency goal, hiring engineers from local universities.",
        None,
        "Eastern Ledger",
        "easternledger.example",
        perspective="china",
    ),
]
ALL_IDS = {d.article_id for d in DOCS}
BAN_COPIES = {"ban-wire", "ban-coast", "ban-midlands"}
