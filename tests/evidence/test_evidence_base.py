"""The bundled evidence base: corrections, what pooling excludes, RoB 2 and the GRADE table."""

from __future__ import annotations

import json

import pytest

from strigil.evidence import meta_analyze
from strigil.evidence.grade import GradeRules, egger_pvalue, grade
from strigil.evidence.studies import (
    ROB2_DOMAINS,
    Arm,
    Judgement,
    RoB2,
    Study,
    load_evidence,
    pool,
    studies,
)


def by_id(study_id: str) -> Study:
    return next(s for s in studies() if s.id == study_id)


def trial(i: int, mean: float, rob: RoB2 | None = None, n: int = 30, **kw: object) -> Study:
    fields: dict[str, object] = {
        "id": f"t{i}", "citation": "synthetic", "year": 2020, "design": "RCT",
        "condition": "test", "intervention": "iastm", "comparison": "sham", "outcome": "pain",
        "timepoint": "4 weeks", "doi": None, "note": "", "iastm": Arm(n, mean, 2.0),
        "control": Arm(n, 5.0, 2.0), "rob2": rob,
    }  # fmt: skip
    fields.update(kw)
    return Study(**fields)  # type: ignore[arg-type]


def rob(level: str | None) -> RoB2:
    return RoB2(tuple((d, Judgement(level, "synthetic")) for d in ROB2_DOMAINS))


# --- corrections ----------------------------------------------------------------------------


def test_elhafez_is_not_labelled_randomised_and_is_no_longer_pooled() -> None:
    e = by_id("elhafez2020")
    assert e.design == "controlled_trial" and not e.usable and e.has_numbers
    assert "divided into two equal groups" in e.note
    with pytest.raises(ValueError, match="no trial with usable data"):
        pool("pain", "hands_on_mfr")


def test_lambert_journal_conflict_is_recorded_not_resolved() -> None:
    lam = by_id("lambert2017")
    assert lam.doi is None
    assert "J Bodyw Mov Ther" not in lam.citation and "Phys Ther Rev" not in lam.citation
    text = " ".join(lam.conflicts)
    assert "J Bodyw Mov Ther" in text and "Phys Ther Rev" in text


def test_seffrin_doi_and_bailey_details_are_filled() -> None:
    assert by_id("seffrin2019").doi == "10.4085/1062-6050-481-17"
    assert "DOI not read" not in by_id("seffrin2019").note
    bailey = by_id("bailey2017")
    assert bailey.citation.startswith("Bailey LB, Thigpen CA, Hawkins RJ, Beattie PF, Shanley E.")
    assert "shoulder range of motion deficits" in bailey.citation
    assert bailey.n_total == 60


def test_lee_is_randomisation_not_stated_and_rows_are_distinguishable() -> None:
    pain, rom = by_id("lee2016_pain"), by_id("lee2016_rom")
    assert pain.design == rom.design == "controlled_trial"
    assert (pain.outcome, pain.measure) != (rom.outcome, rom.measure)
    assert pain.measure == "VAS (mm)"


def test_kivlan_2015_is_added_with_the_read_numbers() -> None:
    sham, none = by_id("kivlan2015_sham"), by_id("kivlan2015_control")
    assert sham.doi == none.doi == "10.1186/s12891-015-0778-9"
    assert sham.registry == "NCT02349230"
    assert sham.iastm == Arm(15, 15.0, 18.0) and sham.control == Arm(15, -6.0, 11.0)
    assert none.control == Arm(15, -1.0, 17.0)
    assert sham.lower_is_better is False and sham.outcome == "strength"
    assert any("59" in c for c in sham.conflicts)


@pytest.mark.parametrize(
    "study_id",
    ["sevier2015", "blanchette2011", "schaefer2012_sham", "moon2017", "park2020", "gunn2019",
     "jones2019", "yana2024", "nct04162262", "elhafez2020_ppt"],
)  # fmt: skip
def test_every_listed_trial_is_present_with_its_source(study_id: str) -> None:
    s = by_id(study_id)
    assert s.source_note, f"{study_id} does not say where it was read"
    assert s.rob2 is None or all(j.reason for _, j in s.rob2.domains)


def test_unread_numbers_stay_null() -> None:
    ppt = by_id("elhafez2020_ppt")
    assert ppt.control is not None and ppt.control.sd is None  # truncated in the excerpt read
    assert by_id("sevier2015").iastm == Arm(57, None, None)
    assert by_id("arshad_heel").iastm == Arm(33, 1.6, None)


def test_every_entry_with_a_number_says_where_it_was_read() -> None:
    for s in studies():
        numbers = [a for a in (s.iastm, s.control) if a is not None]
        if s.effect is not None or any(a.mean is not None for a in numbers):
            assert s.source_note, s.id


def test_every_trial_shows_outcome_time_point_and_design() -> None:
    for s in studies():
        if s.design in ("RCT", "controlled_trial", "non_randomised_trial"):
            assert s.outcome and s.design, s.id
            assert s.timepoint is not None or s.id == "cigdemkaracay2025", s.id


# --- pooling still excludes what it excluded ------------------------------------------------


def test_pooling_uses_randomised_trials_only() -> None:
    usable = {s.id for s in studies() if s.usable}
    assert usable == {"kivlan2015_sham", "kivlan2015_control"}
    for excluded in ("lee2016_pain", "lee2016_rom", "arshad_heel", "mahmood_lbp", "elhafez2020"):
        assert not by_id(excluded).usable
    with pytest.raises(ValueError, match="no trial with usable data"):
        pool("pain", "control")
    pooled = pool("strength", "control")
    assert [s.id for s in pooled.studies] == ["kivlan2015_control"]


# --- RoB 2 -----------------------------------------------------------------------------------


def test_rob2_overall_follows_the_algorithm() -> None:
    assert rob("low").overall == "low"
    assert rob(None).overall is None
    mixed = RoB2(tuple((d, Judgement("low" if i else "some concerns", "r"))
                       for i, d in enumerate(ROB2_DOMAINS)))  # fmt: skip
    assert mixed.overall == "some concerns"
    one_high = RoB2(tuple((d, Judgement("high" if i == 2 else None, "r"))
                          for i, d in enumerate(ROB2_DOMAINS)))  # fmt: skip
    assert one_high.overall == "high"


def test_bad_rob2_entries_are_refused_with_the_field() -> None:
    raw = json.loads(
        '{"version": "x", "sources": [], "studies": [{"id": "a", "citation": "c",'
        ' "design": "RCT", "condition": "c", "intervention": "iastm",'
        ' "rob2": {"randomisation": {"judgement": "probably fine", "reason": "r"}}}]}'
    )
    with pytest.raises(ValueError, match="a.rob2 must have exactly the domains"):
        load_evidence(json.dumps(raw))
    raw["studies"][0]["rob2"] = {d: {"judgement": "low", "reason": "r"} for d in ROB2_DOMAINS}
    raw["studies"][0]["rob2"]["measurement"] = {"judgement": "moderate", "reason": "r"}
    with pytest.raises(ValueError, match="a.rob2.measurement: judgement must be one of"):
        load_evidence(json.dumps(raw))
    raw["studies"][0]["rob2"]["measurement"] = {"judgement": None, "reason": ""}
    with pytest.raises(ValueError, match="needs a reason"):
        load_evidence(json.dumps(raw))


def test_bundled_rob2_judgements_have_reasons() -> None:
    judged = [s for s in studies() if s.rob2 is not None]
    assert len(judged) >= 8
    assert by_id("kivlan2015_sham").rob2 is not None
    missing = by_id("kivlan2015_sham").rob2.get("missing_data")  # type: ignore[union-attr]
    assert missing.level == "some concerns" and "59" in missing.reason
    assert by_id("elhafez2020").rob2.get("randomisation").level is None  # type: ignore[union-attr]


# --- GRADE -----------------------------------------------------------------------------------


def test_grade_table_of_the_single_kivlan_trial() -> None:
    single = pool("strength", "sham")
    table = grade("sham", "strength", single.studies, single.result)
    d = {x.name: x for x in table.domains}
    names = ["risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias"]
    assert [x.name for x in table.domains] == names
    assert d["risk of bias"].judgement == "serious"
    assert "not assessable" in d["risk of bias"].reason
    assert d["inconsistency"].judgement == "not assessable"
    assert d["indirectness"].judgement == "serious"
    assert d["imprecision"].judgement == "serious" and "30 participants" in d["imprecision"].reason
    assert d["publication bias"].judgement == "not assessable"
    assert table.start == "high" and table.certainty == "very low"
    assert table.participants == 30
    assert "risk of bias (serious)" in table.reason


def test_grade_stays_high_for_large_consistent_low_risk_trials() -> None:
    trials = [trial(i, 3.0 + 0.05 * i, rob("low"), n=60) for i in range(4)]
    res = meta_analyze([0.95, 1.0, 0.9, 1.05], [0.03, 0.03, 0.03, 0.03])
    table = grade("sham", "pain", trials, res)
    assert {d.judgement for d in table.domains} == {"not serious", "not assessable"}
    assert table.certainty == "high" and table.participants == 480


def test_grade_rates_down_each_domain_by_its_rule() -> None:
    rules = GradeRules()
    high = [trial(i, 4.0, rob("high"), n=100) for i in range(3)]
    spread = meta_analyze([1.5, -0.2, 0.9], [0.01, 0.01, 0.01])
    table = grade("sham", "pain", high, spread, rules)
    d = {x.name: x for x in table.domains}
    assert d["risk of bias"].judgement == "very serious"
    assert d["inconsistency"].judgement == "very serious" and "I² = " in d["inconsistency"].reason
    # 600 participants reach the information size; the CI (-0.24 to 1.71 in metafor) includes 0.
    assert (
        d["imprecision"].judgement == "serious" and "includes no effect" in d["imprecision"].reason
    )
    assert table.certainty == "very low"


def test_grade_without_an_estimate_has_no_certainty() -> None:
    table = grade("hands_on_mfr", "pain", [by_id("shewail2023")], None)
    assert table.certainty is None
    d = {x.name: x for x in table.domains}
    assert d["imprecision"].judgement == "not assessable"


def test_publication_bias_uses_egger_from_ten_trials() -> None:
    """Reference: metafor 3.8.1 regtest(rma(yi, vi, method="EE"), model="lm") on these data."""
    yi = [0.1, 0.3, 0.35, 0.5, 0.6, 0.8, 0.9, 1.1, 1.2, 1.5]
    vi = [0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2]
    res = meta_analyze(yi, vi, method="EE")
    assert egger_pvalue(res) == pytest.approx(EGGER_P, rel=1e-6)
    trials = [trial(i, 4.0, rob("low"), n=30) for i in range(10)]
    table = grade("sham", "pain", trials, res)
    assert next(d for d in table.domains if d.name == "publication bias").judgement == "serious"


EGGER_P = 1.01003873693748e-09


def test_every_trial_has_a_rob2_entry_with_a_reason_per_domain() -> None:
    trials = [s for s in studies() if s.design.endswith(("RCT", "trial"))]
    assert len(trials) >= 25
    for s in trials:
        assert s.rob2 is not None, s.id
        assert all(j.reason for _, j in s.rob2.domains), s.id
    lee = by_id("lee2016_pain").rob2
    assert lee is not None and "do not say allocation was random" in lee.get("selection").reason
