"""Data-quality scores per source and field, computed set-based in PostgreSQL and kept there.

The four criteria businesses use to judge CRM data:

accuracy      share of values that validate (phones, emails): valid / (valid + invalid). Values that
              failed normalisation are kept on the source record as `invalid.<field>.<n>` attributes.
completeness  share of a source's records that carry the field at all (valid or not).
consistency   share of a source's customers whose golden record has no conflicting values across
              sources; today: at most one distinct name once diacritics and case are folded.
timeliness    share of a source's events stored within `window` of the time the event happened.

Records rejected whole by the normaliser are in dlq.normalise, not in the store, so they are not
counted here (see `hopnhat` DLQ depth instead). A score under the threshold (90% by default) is
flagged. Every run inserts its figures into `quality_scores` with one `computed_at`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

from hopnhat.settings import psycopg_url
from hopnhat.sqlfold import FOLD_FROM, FOLD_TO

DEFAULT_THRESHOLD = 0.9
DEFAULT_WINDOW = timedelta(hours=24)




@dataclass(frozen=True, slots=True)
class QualityScore:
    source: str
    field: str
    criterion: str
    numerator: int
    denominator: int
    score: float | None
    flagged: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_COMPLETENESS_ACCURACY_SQL = """
WITH per_record AS (
    SELECT s.source,
           jsonb_typeof(s.record->'name') = 'object' AS has_name,
           (SELECT count(*) FROM jsonb_array_elements(s.record->'identifiers') i WHERE i->>'type' = 'phone') AS ok_phone,
           (SELECT count(*) FROM jsonb_object_keys(s.record->'attributes') k WHERE k LIKE 'invalid.phone.%%') AS bad_phone,
           (SELECT count(*) FROM jsonb_array_elements(s.record->'identifiers') i WHERE i->>'type' = 'email') AS ok_email,
           (SELECT count(*) FROM jsonb_object_keys(s.record->'attributes') k WHERE k LIKE 'invalid.email.%%') AS bad_email
      FROM source_records s
)
SELECT source, count(*),
       count(*) FILTER (WHERE has_name),
       count(*) FILTER (WHERE ok_phone + bad_phone > 0), sum(ok_phone), sum(bad_phone),
       count(*) FILTER (WHERE ok_email + bad_email > 0), sum(ok_email), sum(bad_email)
  FROM per_record GROUP BY source ORDER BY source
"""

_CONSISTENCY_SQL = """
WITH touched AS (
    SELECT DISTINCT s.source, coalesce(c.merged_into, c.id) AS root
      FROM source_records s JOIN customers c ON c.id = s.customer_id
), names AS (
    SELECT r.id, count(DISTINCT translate(lower(n->>'value'), %(fold_from)s, %(fold_to)s)) AS distinct_names
      FROM customers r CROSS JOIN LATERAL jsonb_array_elements(r.profile->'names') AS n
     WHERE r.merged_into IS NULL GROUP BY r.id
)
SELECT t.source, count(*), count(*) FILTER (WHERE coalesce(n.distinct_names, 0) <= 1)
  FROM touched t LEFT JOIN names n ON n.id = t.root GROUP BY t.source ORDER BY t.source
"""

_TIMELINESS_SQL = """
SELECT source, count(*), count(*) FILTER (WHERE stored_at - occurred_at <= %(window)s)
  FROM interactions GROUP BY source ORDER BY source
"""


def compute_quality(*, database_url: str, threshold: float = DEFAULT_THRESHOLD,
                    window: timedelta = DEFAULT_WINDOW, store: bool = True) -> list[QualityScore]:
    """Compute every score; insert them into quality_scores unless store=False."""
    scores: list[QualityScore] = []

    def add(source: str, field: str, criterion: str, numerator: Decimal | int | None,
            denominator: Decimal | int | None) -> None:
        num, den = int(numerator or 0), int(denominator or 0)  # SUM() comes back as Decimal
        score = round(num / den, 4) if den else None
        scores.append(QualityScore(source, field, criterion, num, den, score,
                                   score is not None and score < threshold))

    with psycopg.connect(psycopg_url(database_url)) as conn:
        for row in conn.execute(_COMPLETENESS_ACCURACY_SQL).fetchall():
            source, records, has_name, has_phone, ok_phone, bad_phone, has_email, ok_email, bad_email = row
            add(source, "name", "completeness", has_name, records)
            add(source, "phone", "completeness", has_phone, records)
            add(source, "email", "completeness", has_email, records)
            add(source, "phone", "accuracy", ok_phone, ok_phone + bad_phone)
            add(source, "email", "accuracy", ok_email, ok_email + bad_email)
        for source, customers, consistent in conn.execute(
                _CONSISTENCY_SQL, {"fold_from": FOLD_FROM, "fold_to": FOLD_TO}).fetchall():
            add(source, "name", "consistency", consistent, customers)
        for source, events, timely in conn.execute(_TIMELINESS_SQL, {"window": window}).fetchall():
            add(source, "event_time", "timeliness", timely, events)
        if store and scores:
            now = datetime.now(UTC)
            with conn.cursor() as cur:
                cur.executemany(
                    """INSERT INTO quality_scores (computed_at, source, field, criterion, numerator, denominator,
                                                   score, threshold, flagged)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    [(now, s.source, s.field, s.criterion, s.numerator, s.denominator, s.score, threshold,
                      s.flagged) for s in scores],
                )
    return scores
