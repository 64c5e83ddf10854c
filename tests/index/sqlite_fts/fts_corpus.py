"""A small original newsroom for the SQLite FTS5 tests, and the searches they make."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.index.base import SearchPage, SearchQuery
from pipeline.index.sqlite_fts import SqliteFtsIndex
from tests.index.newsroom import make_doc

SYNDICATED_TEXT = (
    "The government has told mobile operators to strip Huawei equipment out of their 5G "
    "networks by 2027, reversing an earlier decision after new sanctions from Washington "
    "cast doubt on the company's supply chain."
)


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


DOCS = [
    make_doc(
        "hw-weigh",
        "Ministers weigh Huawei role in 5G rollout",
        "Cabinet ministers met to weigh how far Huawei should be allowed into the 5G rollout. "
        "Security officials warned about the supply chain of network equipment.",
        at("2020-07-13"),
        threads=("huawei-5g",),
        relation="follow_up",
    ),
    make_doc(
        "hw-wire",
        "UK orders Huawei kit out of 5G networks by 2027",
        SYNDICATED_TEXT,
        at("2020-07-14", 9),
        outlet="Wire Daily",
        domain="wiredaily.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-huawei-2027",
    ),
    make_doc(
        "hw-coast",
        "UK orders Huawei kit out of 5G networks by 2027",
        SYNDICATED_TEXT + " Operators on the coast expect delays.",
        at("2020-07-14", 11),
        outlet="Coastal Gazette",
        domain="coastal-gazette.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-huawei-2027",
    ),
    make_doc(
        "hw-midlands",
        "Huawei kit must leave UK 5G networks by 2027",
        SYNDICATED_TEXT + " Midlands engineers described the timetable as tight.",
        at("2020-07-14", 13),
        outlet="Midlands Post",
        domain="midlandspost.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-huawei-2027",
    ),
    make_doc(
        "fr-zurich",
        "Délégation chinoise reçue à Zürich",
        "La délégation a évoqué les sanctions économiques et le réseau 5G construit par Huawei.",
        at("2020-07-15"),
        outlet="Le Veilleur",
        domain="leveilleur.example",
        language="fr",
        relation="follow_up",
    ),
    make_doc(
        "hw-court",
        "Huawei challenges its exclusion in court",
        "Lawyers for Huawei filed papers arguing that the exclusion from 5G networks was "
        "disproportionate and ignored the cost to operators.",
        at("2020-07-20"),
        threads=("huawei-5g",),
        relation="follow_up",
    ),
    make_doc(
        "hk-extradition",
        "Crowds fill Hong Kong streets over extradition bill",
        "Hundreds of thousands marched through Hong Kong against a bill that would allow "
        "extradition to the mainland. Police used tear gas near the legislature.",
        at("2019-06-12"),
        outlet="Coastal Gazette",
        domain="coastal-gazette.example",
        threads=("hong-kong",),
        relation="follow_up",
    ),
    make_doc(
        "hk-bno",
        "BN(O) visa route opens for Hong Kong residents",
        "Holders of British National (Overseas) status in Hong Kong can now apply for a visa "
        "that leads to settlement in the UK after five years.",
        at("2021-01-29"),
        threads=("hong-kong",),
        relation="duplicate",
    ),
    make_doc(
        "xj-sanctions",
        "UK joins allies in sanctioning Xinjiang officials",
        "Four officials accused of abuses against Uyghurs in Xinjiang face asset freezes and "
        "travel bans, the first such sanctions on China in decades.",
        at("2021-03-22"),
        outlet="Wire Daily",
        domain="wiredaily.example",
        threads=("xinjiang",),
        relation="follow_up",
    ),
    make_doc(
        "nuc-hinkley",
        "Hinkley Point nuclear deal approved with Chinese stake",
        "The government approved the Hinkley Point C nuclear plant after a review of the stake "
        "held by a Chinese state energy company.",
        at("2016-09-15"),
        outlet="Midlands Post",
        domain="midlandspost.example",
        threads=("nuclear",),
        relation="follow_up",
    ),
    make_doc(
        "web-correction",
        "Correction to our energy coverage",
        "An embedded <script>alert('x')</script> tag appeared beside our report on Hinkley "
        "& the stake & the plant; it has been removed.",
        at("2016-09-16"),
    ),
    make_doc(
        "sport-derby",
        "Late penalty settles derby at Ashfield Park",
        "A penalty in the last minute gave the home side a two-one win in a derby watched by "
        "a record crowd.",
        at("2021-03-20"),
        outlet="Wire Daily",
        domain="wiredaily.example",
    ),
    make_doc(
        "bank-hkex",
        "Harbour Bank shares rise on HKEX debut",
        "Shares in Harbour Bank rose on their first day of trading on the Hong Kong exchange, "
        "HKEX, after a listing that raised more than expected.",
        at("2021-03-23"),
        outlet="Coastal Gazette",
        domain="coastal-gazette.example",
    ),
    make_doc(
        "bno-explainer",
        "Explainer: the BN(O) passport",
        "What the British National (Overseas) passport is, who holds it, and how Hong Kong "
        "residents use it.",
        None,
    ),
]
BY_ID = {d.article_id: d for d in DOCS}


def search(index: SqliteFtsIndex, text: str = "", **options: Any) -> SearchPage:
    """Uncollapsed, one big page unless the test says otherwise."""
    options.setdefault("collapse", False)
    options.setdefault("limit", 100)
    return index.search(SearchQuery(text=text, **options))


def ids(index: SqliteFtsIndex, text: str = "", **options: Any) -> list[str]:
    return [h.article_id for h in search(index, text, **options).hits]
