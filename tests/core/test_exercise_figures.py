"""Strigil's own exercise pictures: one per library exercise, valid wordless SVG, pose data
that names only joints and props the renderer knows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib.resources import files

import pytest

from strigil.core import catalog
from strigil.core import exercise_figures as figures

SVG = "{http://www.w3.org/2000/svg}"
CODES = [e.code for e in catalog.exercises()]
POSES = json.loads(
    files("strigil.core.catalog").joinpath("exercise_poses.json").read_text("utf-8")
)["poses"]


def test_every_exercise_has_exactly_one_picture() -> None:
    assert len(CODES) == 52
    assert sorted(figures.figure_codes()) == sorted(CODES)


@pytest.mark.parametrize("code", sorted(POSES))
def test_poses_name_only_known_joints_and_props(code: str) -> None:
    spec = POSES[code]
    view = spec.get("view", "body")
    assert view in figures.SKELETONS, view
    joints = set(figures.SKELETONS[view])
    named = {
        *spec["start"]["angles"],
        *spec["end"].get("angles", {}),
        *spec["start"].get("offset", {}),
        *spec.get("moving", []),
        *spec.get("hidden", []),
        *spec.get("widths", {}),
        *spec["start"].get("widths", {}),
        *spec["end"].get("widths", {}),
        *spec["end"].get("offset", {}),
        *spec["start"].get("curve", {}),
        *spec["end"].get("curve", {}),
        *spec["start"].get("scale", {}),
        *spec["end"].get("scale", {}),
    }
    assert named <= joints, named - joints
    assert spec["moving"], "the moving part is highlighted"
    assert spec["arrows"], "every picture shows its motion"
    for prop in spec.get("props", []):
        assert prop["kind"] in figures.PROP_DRAWERS, prop


@pytest.mark.parametrize("code", CODES)
def test_svg_parses_scales_and_holds_no_words_or_script(code: str) -> None:
    root = ET.fromstring(figures.svg(code, "Name"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {figures.WIDTH:g} {figures.HEIGHT:g}"
    assert root.get("role") == "img" and root.get("aria-label") == "Name"
    tags = {el.tag.removeprefix(SVG) for el in root.iter()}
    assert tags <= {"svg", "path", "circle"}, tags
    assert (root.text or "").strip() == ""
    ink = [el.get("stroke") for el in root.iter() if el.tag != f"{SVG}svg"]
    assert figures.BRAND in ink, "the moving part is in the brand colour"


@pytest.mark.parametrize("code", CODES)
def test_the_picture_fits_its_box(code: str) -> None:
    fig = figures.figure(code)
    assert fig is not None
    for shape in fig.shapes:
        points = [shape.centre] if isinstance(shape, figures.Circle) else list(shape.points)
        for x, y in points:
            assert -1 <= x <= figures.WIDTH + 1 and -1 <= y <= figures.HEIGHT + 1, (code, x, y)


def test_the_label_is_escaped_and_an_unknown_code_draws_nothing() -> None:
    root = ET.fromstring(figures.svg("bridge", 'Puente "glúteo" & <cadera>'))
    assert root.get("aria-label") == 'Puente "glúteo" & <cadera>'
    assert figures.svg("no_such_exercise", "x") == ""
    assert figures.figure("no_such_exercise") is None
