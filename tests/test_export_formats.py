"""`registry export`: SPSS, Stata and SAS transport round trips keep values and labels;
SAS transport v5 limits are refused, never cut; Parquet and CSV carry the same rows."""

from __future__ import annotations

import json
import math

import pandas as pd
import pyreadstat
import pytest
from adam_fixtures import edited_sample, sample_registry

from registry.adam import Dataset, TransportFormatError
from registry.adam.build import AdamData, build_adam
from registry.adam.transport import render_formats_sas
from registry.adam.write import write_datasets

READERS = {"sav": pyreadstat.read_sav, "dta": pyreadstat.read_dta, "xpt": pyreadstat.read_xport}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    db, results = sample_registry(tmp_path_factory.mktemp("export"))
    return db, results, build_adam(db)


@pytest.fixture(scope="module")
def exported(sample, tmp_path_factory):
    """Each format exported once: format -> folder (sav and xpt through the CLI)."""
    from conftest import Cli

    cli, db, data = Cli(), sample[0], sample[2]
    folders = {}
    for fmt in ("sav", "dta", "xpt", "parquet", "csv"):
        out = tmp_path_factory.mktemp(fmt)
        if fmt in ("sav", "xpt"):
            result = cli("export", "--db", db, "--format", fmt, "--out", out)
            assert result.exit_code == 0, result.stderr
            assert "adsl 120 rows, adqs" in result.stdout
        else:
            write_datasets(data, fmt, out)
        folders[fmt] = out
    return folders


def same_value(a, b) -> bool:
    """Equal, with a missing number as NaN and a missing string as ''."""
    if a is None or a is pd.NA or (isinstance(a, float) and math.isnan(a)):
        return b in ("", None) or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, str):
        return a == b
    return float(a) == float(b)


@pytest.mark.parametrize("fmt", ["sav", "dta", "xpt"])
def test_a_round_trip_gives_back_the_same_values_and_variable_labels(sample, exported, fmt):
    data = sample[2]
    for ds in data.datasets:
        back, meta = READERS[fmt](exported[fmt] / f"{ds.name}.{fmt}")
        assert list(back.columns) == list(ds.frame.columns)
        assert len(back) == len(ds.frame)
        assert meta.column_names_to_labels == ds.labels
        for name in ds.frame.columns:
            mismatched = [
                i for i, (a, b) in enumerate(zip(ds.frame[name], back[name], strict=True)) if not same_value(a, b)
            ]
            assert not mismatched, f"{ds.name}.{name} row {mismatched[:3]}"


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_spss_and_stata_files_carry_the_dictionary_and_adam_value_labels(sample, exported, fmt):
    data = sample[2]
    for ds in data.datasets:
        _, meta = READERS[fmt](exported[fmt] / f"{ds.name}.{fmt}")
        got = {var: {int(k): v for k, v in labels.items()} for var, labels in meta.variable_value_labels.items()}
        assert got == ds.value_labels
    _, meta = READERS[fmt](exported[fmt] / f"adsl.{fmt}")
    assert meta.variable_value_labels["SEXN"] == {1: "Female", 2: "Male", 3: "Other", 99: "Unknown"}
    assert meta.variable_value_labels["TRT01PN"] == {1: "Sirolimus-augmented esketamine", 2: "Esketamine alone"}
    _, meta = READERS[fmt](exported[fmt] / f"adtte.{fmt}")
    assert meta.variable_value_labels["CNSR"][0] == "EVENT"
    adtte, _ = READERS[fmt](exported[fmt] / f"adtte.{fmt}")
    assert list(dict.fromkeys(adtte["PARAM"])) == [
        "Time from Response to Relapse (Days)",
        "Time to Response (Days)",
        "Time to Remission (Days)",
    ]


@pytest.mark.parametrize("fmt", ["sav", "dta", "xpt"])
def test_read_back_chg_is_aval_minus_base_and_adsl_has_one_row_per_subject(exported, fmt):
    adsl, _ = READERS[fmt](exported[fmt] / f"adsl.{fmt}")
    assert adsl["USUBJID"].is_unique and len(adsl) == 120
    adqs, _ = READERS[fmt](exported[fmt] / f"adqs.{fmt}")
    post = adqs[(adqs["ABLFL"] != "Y") & adqs["BASE"].notna()]
    assert len(post) > 1000
    assert ((post["AVAL"] - post["BASE"]) == post["CHG"]).all()


@pytest.mark.parametrize("fmt", ["sav", "dta", "xpt", "parquet", "csv"])
def test_read_back_adtte_agrees_with_results_json(sample, exported, fmt):
    results = sample[1]
    path = exported[fmt] / f"adtte.{fmt}"
    if fmt in READERS:
        adtte, _ = READERS[fmt](path)
    elif fmt == "parquet":
        adtte = pd.read_parquet(path)
    else:
        adtte = pd.read_csv(path)
    for code, part in (("RELAPSE", "relapse"), ("TTRESP", "time_to_response"), ("TTREMIS", "time_to_remission")):
        rows = adtte[adtte["PARAMCD"] == code]
        got = {(r.USUBJID, int(r.AVAL), int(r.CNSR) == 0, int(r.TRT01PN)) for r in rows.itertuples()}
        want = {(s["record_id"], s["days"], s["event"], s["cohort"]) for s in results[part]["subjects"]}
        assert got == want, code


def test_the_sas_transport_files_are_version_5_with_8_character_member_names(exported):
    for name in ("adsl", "adqs", "adtte"):
        path = exported["xpt"] / f"{name}.xpt"
        assert path.read_bytes()[:80].startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000")
        _, meta = pyreadstat.read_xport(path)
        assert meta.table_name == name.upper()
        assert all(len(c) <= 8 for c in meta.column_names)
        assert all(len(label) <= 40 for label in meta.column_labels)


def test_formats_sas_defines_every_value_label_and_attaches_it(sample, exported):
    text = (exported["xpt"] / "formats.sas").read_text()
    assert text.count("proc format;") == 1
    assert '        1 = "Sirolimus-augmented esketamine"' in text
    assert "    value CNSRF" in text and '        0 = "EVENT"' in text
    assert 'libname adqs xport "&adamdir/adqs.xpt";' in text
    assert "format TRT01PN TRT01PNF. CNSR CNSRF.;" in text
    for ds in sample[2].datasets:
        for var in ds.value_labels:
            assert f" {var} {var}F." in text
    assert text.count("value TRT01PNF") == 1  # shared by all three datasets


def test_parquet_keeps_values_types_and_labels_and_csv_keeps_values(sample, exported):
    import pyarrow.parquet as pq

    data = sample[2]
    for ds in data.datasets:
        table = pq.read_table(exported["parquet"] / f"{ds.name}.parquet")
        assert {f.name: f.metadata[b"label"].decode() for f in table.schema} == ds.labels
        pd.testing.assert_frame_equal(table.to_pandas(), ds.frame, check_dtype=False)
        back = pd.read_csv(
            exported["csv"] / f"{ds.name}.csv", keep_default_na=False, na_values=[""], float_precision="round_trip"
        )
        for name in ds.frame.columns:
            assert all(
                same_value(a, None if pd.isna(b) else b) for a, b in zip(ds.frame[name], back[name], strict=True)
            )


def test_metadata_json_lists_every_variable_with_its_label_for_every_format(sample, exported):
    data = sample[2]
    for folder in exported.values():
        meta = json.loads((folder / "metadata.json").read_text())
        assert meta["batch"]["batch_id"] == 1
        for ds in data.datasets:
            entry = meta["datasets"][ds.name]
            assert entry["rows"] == len(ds.frame)
            assert {v["name"]: v["label"] for v in entry["variables"]} == ds.labels


def tiny(frame: pd.DataFrame, labels: dict, name: str = "adsl", label: str = "Subject-Level") -> AdamData:
    ds = Dataset(name, label, frame, labels, keys=("USUBJID",))
    return AdamData(ds, ds, ds, {"batch_id": 1, "source_sha256": "ab"}, "cd", "plan.toml")


@pytest.mark.parametrize(
    ("frame", "labels", "message"),
    [
        (
            pd.DataFrame({"USUBJID": ["S1", "S2"], "EVNTDESC": ["ok", "x" * 201]}),
            {"USUBJID": "Subject", "EVNTDESC": "Description"},
            "adsl.EVNTDESC, row 2 (USUBJID S2): the value is 201 bytes long (limit 200)",
        ),
        (
            pd.DataFrame({"USUBJID": ["SIR-Ö01"]}),
            {"USUBJID": "Subject"},
            "adsl.USUBJID, row 1: the value has the non-ASCII character 'Ö' (U+00D6)",
        ),
        (
            pd.DataFrame({"USUBJID": ["S1"]}),
            {"USUBJID": "Unique Subject Identifier of the registry study"},
            "adsl.USUBJID: the label is 47 characters long (limit 40): 'Unique Subject Identifier of the registr' "
            "would be kept, 'y study' cut",
        ),
        (
            pd.DataFrame({"USUBJID": ["S1"], "BASELINE_MADRS": [30.0]}),
            {"USUBJID": "Subject", "BASELINE_MADRS": "Baseline MADRS"},
            "adsl.BASELINE_MADRS: the name is longer than 8 characters",
        ),
    ],
)
def test_sas_transport_refuses_what_version_5_would_cut_and_writes_nothing(tmp_path, frame, labels, message):
    out = tmp_path / "out"
    with pytest.raises(TransportFormatError) as info:
        write_datasets(tiny(frame, labels), "xpt", out)
    text = str(info.value)
    assert text.startswith("error: ") and "do not fit SAS transport version 5" in text
    assert message in text
    assert "--format sav, dta or parquet" in text
    assert not out.exists()


def test_a_non_ascii_record_id_makes_the_xpt_export_refuse_but_sav_export_works(tmp_path, cli):
    def rename(row):
        if row["record_id"] == "SIR-0003":
            row["record_id"] = "SIR-Ö003"

    db = tmp_path / "r.duckdb"
    assert cli("ingest", edited_sample(tmp_path / "e.csv", rename), "--db", db).exit_code == 0
    result = cli("export", "--db", db, "--format", "xpt", "--out", tmp_path / "xpt")
    assert result.exit_code == 2
    assert "adsl.USUBJID, row 120: the value has the non-ASCII character 'Ö'" in result.stderr
    assert not (tmp_path / "xpt").exists() or not any((tmp_path / "xpt").iterdir())
    result = cli("export", "--db", db, "--format", "sav", "--out", tmp_path / "sav")
    assert result.exit_code == 0, result.stderr
    back, _ = pyreadstat.read_sav(tmp_path / "sav" / "adsl.sav")
    assert "SIR-Ö003" in set(back["USUBJID"])


def test_an_unknown_format_is_refused_by_the_cli(cli, tmp_path, sample):
    result = cli("export", "--db", sample[0], "--format", "xlsx", "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "--format must be one of sav, dta, xpt, parquet, csv" in result.stderr


def test_formats_sas_escapes_quotes_in_labels():
    ds = Dataset("adsl", "x", pd.DataFrame({"A": [1]}), {"A": "a"}, {"A": {1: 'He said "yes"'}})
    assert '1 = "He said ""yes"""' in render_formats_sas([ds], "header")
