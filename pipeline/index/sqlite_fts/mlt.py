"""More like this: the most distinctive stems of a document, by tf x idf."""

from __future__ import annotations

import math
import sqlite3

from pipeline.cjk import has_cjk
from pipeline.index.sqlite_fts.render import TEXT_WEIGHT, TITLE_WEIGHT, quote
from pipeline.index.sqlite_fts.schema import TOKENIZER, Tables, count_docs

MLT_TERMS = 12


def distinctive_terms(conn: sqlite3.Connection, tables: Tables, title: str, text: str) -> list[str]:
    """The document's top stems by tf x idf, using a one-row probe table for its tf."""
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.mlt_probe "
        f"USING fts5(title, text, tokenize='{TOKENIZER}')"
    )
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.mlt_probe_terms "
        "USING fts5vocab(temp, mlt_probe, col)"
    )
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{tables.fts}_terms "
        f"USING fts5vocab(main, {tables.fts}, row)"
    )
    conn.execute("DELETE FROM temp.mlt_probe")
    conn.execute("INSERT INTO temp.mlt_probe (rowid, title, text) VALUES (1, ?, ?)", (title, text))
    frequency: dict[str, float] = {}
    for term, column, count in conn.execute("SELECT term, col, cnt FROM temp.mlt_probe_terms"):
        weight = TITLE_WEIGHT if column == "title" else TEXT_WEIGHT
        frequency[term] = frequency.get(term, 0.0) + weight * count
    documents = count_docs(conn, tables)
    scored = []
    for term, tf in frequency.items():
        # most Chinese words are two characters; a Latin stem that short says little
        if len(term) < (2 if has_cjk(term) else 3) or term.isdigit():
            continue
        row = conn.execute(
            f"SELECT doc FROM temp.{tables.fts}_terms WHERE term = ?", (term,)
        ).fetchone()
        df = int(row[0]) if row else 0
        # In another document, but not in half of them (bm25 gives those no weight anyway).
        if 2 <= df <= documents / 2:
            scored.append((tf * math.log(documents / df), term))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[str] = []
    for weight, term in scored:
        if weight <= 0 or len(chosen) == MLT_TERMS:
            break
        # Porter is not idempotent ("agre" -> "agr"): keep a stem only if, as a query, it
        # finds the document it came from.
        if conn.execute(
            "SELECT 1 FROM temp.mlt_probe WHERE mlt_probe MATCH ?", (quote(term),)
        ).fetchone():
            chosen.append(term)
    return chosen
