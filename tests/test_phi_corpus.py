"""The PHI scan measured on a written corpus: >= 95% of identifier phrases found, <= 3% of clinical
phrases flagged (tests/data/phi_corpus, synthetic: every name, number and address is invented)."""

from __future__ import annotations

from conftest import DATA

from registry.phi import scan_texts

CORPUS = DATA / "phi_corpus"


def phrases(name: str) -> list[str]:
    return [line for line in (CORPUS / name).read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_the_corpus_is_large_enough_and_covers_every_kind_the_issue_names():
    identifiers = [line.split("\t", 1) for line in phrases("identifiers.tsv")]
    assert len(identifiers) >= 100 and len(phrases("clinical.tsv")) >= 100
    kinds = {kind for kind, _ in identifiers}
    assert {"name", "email", "zip_code", "vehicle", "device", "url", "phone", "ssn", "mrn"} <= kinds


def test_recall_is_at_least_95_percent_and_false_positives_at_most_3_percent():
    identifiers = [text for _, text in (line.split("\t", 1) for line in phrases("identifiers.tsv"))]
    clinical = phrases("clinical.tsv")
    missed = [t for t, kinds in zip(identifiers, scan_texts(identifiers), strict=True) if not kinds]
    flagged = [t for t, kinds in zip(clinical, scan_texts(clinical), strict=True) if kinds]
    assert 1 - len(missed) / len(identifiers) >= 0.95, missed
    assert len(flagged) / len(clinical) <= 0.03, flagged


def test_the_phrases_the_issue_reported_missed_or_flagged():
    found = scan_texts(["Dr. Smith referred her", "Mrs. Jones called", "per John Smith, MD", "jdoe at gmail dot com",
                        "ZIP 02139", "VIN 1HGCM82633A004352", "https://portal.nhs.uk/patient", "http://intranet/chart"])
    assert all(found), found
    assert scan_texts(["2 sessions per week", "1200000 copies/mL"]) == [set(), set()]
