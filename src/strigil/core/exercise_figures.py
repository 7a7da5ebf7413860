"""Strigil's own exercise pictures: wordless line drawings computed from joint angles.

Why drawn by code: no licensed image library to track, one consistent style for all 52
exercises, and nothing to translate because a picture holds no words (ADR 0022). The drawing
depends only on the exercise code, never on the patient.

A picture shows the start pose faintly and the end pose solidly, the moving segments in the
brand colour and a curved arrow for the motion. A pose gives an absolute direction in degrees
for each segment (0 = right, 90 = up) or, for fingers and toes, an angle relative to the
segment it hangs from. The output is a list of plain shapes, written as SVG for web pages and
drawn again by the PDF renderer, so both show exactly the same figure.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

__all__ = [
    "BRAND",
    "HEIGHT",
    "WIDTH",
    "Circle",
    "Figure",
    "Shape",
    "Stroke",
    "figure",
    "figure_codes",
    "svg",
]

WIDTH, HEIGHT, MARGIN = 200.0, 160.0, 8.0
BRAND = "#0b5c7a"
INK = "#1f2933"
GHOST = "#b9c4cc"
PROP = "#8a97a3"

Tone = Literal["ink", "brand", "ghost", "prop", "ghost_brand"]
COLOURS: dict[str, str] = {
    "ink": INK,
    "brand": BRAND,
    "ghost": GHOST,
    "prop": PROP,
    "ghost_brand": "#9fc3d1",
}
Point = tuple[float, float]


@dataclass(frozen=True)
class Stroke:
    """An open or closed polyline; ``fill`` closes it and paints the inside."""

    points: tuple[Point, ...]
    tone: Tone
    width: float
    fill: bool = False
    dashed: bool = False


@dataclass(frozen=True)
class Circle:
    centre: Point
    r: float
    tone: Tone
    width: float
    fill: bool = False


Shape = Stroke | Circle


@dataclass(frozen=True)
class Figure:
    """Shapes already placed in the ``WIDTH`` x ``HEIGHT`` box."""

    shapes: tuple[Shape, ...]


@dataclass(frozen=True)
class Segment:
    """One bone of a skeleton: where it starts, how long, and whether its angle is relative."""

    parent: str | None
    length: float
    relative: bool = False
    width: float = 6.0


def _body() -> dict[str, Segment]:
    arm = {"arm": 26.0, "forearm": 24.0}
    leg = {"thigh": 36.0, "shin": 34.0, "foot": 11.0}
    out = {"torso": Segment(None, 44.0), "neck": Segment("torso", 13.0)}
    for side in ("far", "near"):
        out[f"{side}_arm"] = Segment("torso", arm["arm"])
        out[f"{side}_forearm"] = Segment(f"{side}_arm", arm["forearm"])
        out[f"{side}_thigh"] = Segment(None, leg["thigh"])
        out[f"{side}_shin"] = Segment(f"{side}_thigh", leg["shin"])
        out[f"{side}_foot"] = Segment(f"{side}_shin", leg["foot"], width=5.0)
    return out


def _hand() -> dict[str, Segment]:
    out = {
        "forearm": Segment(None, 36.0, width=14.0),
        "palm": Segment("forearm", 32.0, relative=True, width=15.0),
        "thumb_1": Segment("forearm", 20.0, relative=True, width=7.0),
        "thumb_2": Segment("thumb_1", 14.0, relative=True, width=7.0),
    }
    for finger in ("index", "middle", "ring", "little"):
        scale = {"index": 1.0, "middle": 1.08, "ring": 1.0, "little": 0.8}[finger]
        out[f"{finger}_1"] = Segment("palm", 18.0 * scale, relative=True, width=6.5)
        out[f"{finger}_2"] = Segment(f"{finger}_1", 12.0 * scale, relative=True, width=6.5)
        out[f"{finger}_3"] = Segment(f"{finger}_2", 9.0 * scale, relative=True, width=6.5)
    return out


def _foot() -> dict[str, Segment]:
    out = {
        "shin": Segment(None, 56.0, width=14.0),
        "heel": Segment("shin", 14.0, relative=True, width=12.0),
        "rearfoot": Segment("heel", 28.0, relative=True, width=10.0),
        "forefoot": Segment("rearfoot", 28.0, relative=True, width=10.0),
    }
    for n, length in enumerate((13.0, 10.0, 9.0, 8.0, 7.0), 1):
        out[f"toe_{n}"] = Segment("forefoot", length, relative=True, width=6.0)
    return out


SKELETONS: dict[str, dict[str, Segment]] = {"body": _body(), "hand": _hand(), "foot": _foot()}
HEAD_R = 8.5
CLOSE_UP_ZOOM = 1.8  # a hand or foot may be enlarged to fill the box; whole bodies never are


@cache
def _poses() -> dict[str, dict[str, Any]]:
    raw = files("strigil.core.catalog").joinpath("exercise_poses.json").read_text("utf-8")
    data: dict[str, dict[str, Any]] = json.loads(raw)["poses"]
    return data


def figure_codes() -> tuple[str, ...]:
    """Every exercise code that has a picture."""
    return tuple(_poses())


def _direction(angle: float) -> Point:
    rad = math.radians(angle)
    return math.cos(rad), -math.sin(rad)


def _place(kind: str, pose: dict[str, Any]) -> tuple[dict[str, Point], dict[str, float]]:
    """Joint positions and absolute angles of every segment in one pose.

    A segment's start point is named after the segment itself ("near_shin" starts at the near
    knee); its end point is ``<name>.end``."""
    skeleton = SKELETONS[kind]
    angles: dict[str, float] = pose["angles"]
    root: Point = tuple(pose.get("root", (0.0, 0.0)))
    starts: dict[str, Point] = {}
    absolute: dict[str, float] = {}
    ends: dict[str, Point] = {}
    for name, seg in skeleton.items():  # parents come before children in every skeleton
        start = root if seg.parent is None else ends[seg.parent]
        shift = float(pose.get("offset", {}).get(name, 0.0))
        if shift:  # sideways from the parent: shoulders, knuckles and hips have a width
            px, py = _direction(absolute[seg.parent] + 90.0 if seg.parent else 180.0)
            start = (start[0] + px * shift, start[1] + py * shift)
        base = absolute[seg.parent] if seg.relative and seg.parent else 0.0
        absolute[name] = base + float(angles.get(name, 0.0))
        dx, dy = _direction(absolute[name])
        length = seg.length * float(pose.get("scale", {}).get(name, 1.0))
        starts[name] = start
        ends[name] = (start[0] + dx * length, start[1] + dy * length)
    points = dict(starts)
    points.update({f"{n}.end": p for n, p in ends.items()})
    return points, absolute


def _skeleton_shapes(
    kind: str,
    points: dict[str, Point],
    tone_of: dict[str, Tone],
    hidden: set[str],
    widths: dict[str, float],
    curves: dict[str, float],
) -> list[Shape]:
    """Far limbs first so the near ones overlap them; the head is a ring at the neck's end."""
    out: list[Shape] = []
    for name, seg in SKELETONS[kind].items():
        if name in hidden:
            continue
        tone = tone_of.get(name, "ink")
        a, b = points[name], points[f"{name}.end"]
        if name == "neck":
            dx, dy = b[0] - a[0], b[1] - a[1]
            k = (math.hypot(dx, dy) - HEAD_R) / max(math.hypot(dx, dy), 1e-6)
            out.append(Stroke((a, (a[0] + dx * k, a[1] + dy * k)), tone, seg.width * 0.8))
            out.append(Circle(b, HEAD_R, tone, 4.0))
            continue
        line = _bow(a, b, float(curves.get(name, 0.0)))
        out.append(Stroke(line, tone, float(widths.get(name, seg.width))))
    return out


def _bow(a: Point, b: Point, bulge: float, steps: int = 12) -> tuple[Point, ...]:
    """A straight segment, or one bowed sideways by ``bulge`` (a rounded or arched back)."""
    if not bulge:
        return (a, b)
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = max(math.hypot(dx, dy), 1e-6)
    cx = (a[0] + b[0]) / 2 - dy / n * 2 * bulge
    cy = (a[1] + b[1]) / 2 + dx / n * 2 * bulge
    return tuple(
        (
            (1 - t) ** 2 * a[0] + 2 * (1 - t) * t * cx + t**2 * b[0],
            (1 - t) ** 2 * a[1] + 2 * (1 - t) * t * cy + t**2 * b[1],
        )
        for t in (i / steps for i in range(steps + 1))
    )


def _arc(centre: Point, r: float, start: float, end: float, steps: int = 24) -> list[Point]:
    return [
        (
            centre[0] + r * math.cos(math.radians(start + (end - start) * i / steps)),
            centre[1] - r * math.sin(math.radians(start + (end - start) * i / steps)),
        )
        for i in range(steps + 1)
    ]


def _arrowhead(tip: Point, before: Point) -> Stroke:
    """A filled arrowhead at ``tip`` pointing away from ``before``."""
    dx, dy = tip[0] - before[0], tip[1] - before[1]
    n = max(math.hypot(dx, dy), 1e-6)
    ux, uy = dx / n, dy / n
    size = 7.0
    left = (tip[0] - ux * size - uy * size * 0.6, tip[1] - uy * size + ux * size * 0.6)
    right = (tip[0] - ux * size + uy * size * 0.6, tip[1] - uy * size - ux * size * 0.6)
    return Stroke((left, (tip[0] + ux * 2, tip[1] + uy * 2), right), "brand", 1.5, fill=True)


def _arrow(spec: dict[str, Any], joints: dict[str, Point], turn: dict[str, Any]) -> list[Shape]:
    """A curved (or straight) arrow from the start to the end of the motion."""
    if "from" in spec:
        line = [_point(spec["from"], joints), _point(spec["to"], joints)]
    else:
        about = spec.get("about")
        centre = _point(spec.get("centre", about), joints)
        if about and "start" not in spec:
            a0, a1 = turn["start"][about], turn["end"][about]
        else:
            a0, a1 = float(spec["start"]), float(spec["end"])
            if a1 - a0 > 180:
                a1 -= 360
            elif a0 - a1 > 180:
                a1 += 360
        r = float(spec.get("r", 0.0)) or 0.7 * _length(about)
        line = _arc(centre, r, a0, a1)
    out: list[Shape] = [Stroke(tuple(line), "brand", 2.2)]
    out.append(_arrowhead(line[-1], line[-2]))
    if spec.get("both"):
        out.append(_arrowhead(line[0], line[1]))
    return out


def _length(segment: str | None) -> float:
    for skeleton in SKELETONS.values():
        if segment in skeleton:
            return skeleton[segment].length
    return 30.0


def _point(value: Any, joints: dict[str, Point]) -> Point:
    if isinstance(value, str):
        return joints[value]
    return float(value[0]), float(value[1])


PROP_WIDTH = 3.0
Spec = dict[str, Any]


@dataclass(frozen=True)
class Scene:
    """What a prop may lean on: the end pose's joints and the figure's horizontal extent."""

    joints: dict[str, Point]
    span: tuple[float, float]


def _floor(spec: Spec, scene: Scene) -> list[Shape]:
    y = float(spec["y"])
    return [Stroke(((scene.span[0] - 12, y), (scene.span[1] + 12, y)), "prop", PROP_WIDTH)]


def _wall(spec: Spec, _scene: Scene) -> list[Shape]:
    x, y0, y1 = float(spec["x"]), float(spec["y0"]), float(spec["y1"])
    return [Stroke(((x, y0), (x, y1)), "prop", 4.0)]


def _door(spec: Spec, _scene: Scene) -> list[Shape]:
    """A door frame seen edge-on: the jamb the forearm rests on, and its depth."""
    x, y0, y1 = float(spec["x"]), float(spec["y0"]), float(spec["y1"])
    x2 = x + float(spec.get("depth", 10.0))
    return [Stroke(((x, y1), (x, y0), (x2, y0), (x2, y1)), "prop", PROP_WIDTH)]


def _chair(spec: Spec, _scene: Scene) -> list[Shape]:
    """Seat, back leg rising into the backrest, and a front leg."""
    x, y, floor = float(spec["x"]), float(spec["y"]), float(spec["floor"])
    half = float(spec.get("seat", 30.0)) / 2
    d = 1.0 if spec.get("back", "left") == "right" else -1.0
    top = y - float(spec.get("back_h", 36.0))
    return [
        Stroke(((x - half, y), (x + half, y)), "prop", PROP_WIDTH),
        Stroke(((x + d * half, floor), (x + d * half, top)), "prop", PROP_WIDTH),
        Stroke(((x - d * half, y), (x - d * half, floor)), "prop", PROP_WIDTH),
    ]


def _table(spec: Spec, _scene: Scene) -> list[Shape]:
    x0, x1, y, floor = (float(spec[k]) for k in ("x0", "x1", "y", "floor"))
    return [
        Stroke(((x0, y), (x1, y)), "prop", PROP_WIDTH),
        Stroke(((x0 + 4, y), (x0 + 4, floor)), "prop", PROP_WIDTH),
        Stroke(((x1 - 4, y), (x1 - 4, floor)), "prop", PROP_WIDTH),
    ]


def _step(spec: Spec, _scene: Scene) -> list[Shape]:
    x0, x1, y, floor = (float(spec[k]) for k in ("x0", "x1", "y", "floor"))
    return [Stroke(((x0, floor), (x0, y), (x1, y), (x1, floor)), "prop", PROP_WIDTH)]


def _band(spec: Spec, scene: Scene) -> list[Shape]:
    """An elastic band, dashed so it reads as stretchy and apart from the limbs."""
    points = tuple(_point(p, scene.joints) for p in spec["points"])
    return [Stroke(points, "prop", 2.0, dashed=True)]


def _towel(spec: Spec, scene: Scene) -> list[Shape]:
    return [Stroke(tuple(_point(p, scene.joints) for p in spec["points"]), "prop", 5.0)]


def _ball(spec: Spec, scene: Scene) -> list[Shape]:
    return [Circle(_point(spec["at"], scene.joints), float(spec.get("r", 8.0)), "prop", PROP_WIDTH)]


# Furniture and equipment are drawn in a light grey so the body stays the subject.
PROP_DRAWERS = {
    "floor": _floor,
    "wall": _wall,
    "door": _door,
    "chair": _chair,
    "table": _table,
    "step": _step,
    "band": _band,
    "towel": _towel,
    "ball": _ball,
}


def _bounds(shapes: list[Shape]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for s in shapes:
        if isinstance(s, Circle):
            xs += [s.centre[0] - s.r, s.centre[0] + s.r]
            ys += [s.centre[1] - s.r, s.centre[1] + s.r]
        else:
            half = s.width / 2  # round caps reach past the end points
            xs += [v for p in s.points for v in (p[0] - half, p[0] + half)]
            ys += [v for p in s.points for v in (p[1] - half, p[1] + half)]
    return min(xs), min(ys), max(xs), max(ys)


def _fit(shapes: list[Shape], largest: float) -> Figure:
    """Centre the drawing in the box, shrinking it only if it does not fit, so every body
    picture shares one scale; close-ups may grow up to ``largest`` (line widths stay)."""
    x0, y0, x1, y1 = _bounds(shapes)
    room = (WIDTH - 2 * MARGIN) / max(x1 - x0, 1), (HEIGHT - 2 * MARGIN) / max(y1 - y0, 1)
    k = min(largest, *room)
    dx = (WIDTH - (x1 - x0) * k) / 2 - x0 * k
    dy = (HEIGHT - (y1 - y0) * k) / 2 - y0 * k

    def move(p: Point) -> Point:
        return round(p[0] * k + dx, 1), round(p[1] * k + dy, 1)

    placed: list[Shape] = []
    for s in shapes:
        if isinstance(s, Circle):
            placed.append(Circle(move(s.centre), round(s.r * k, 1), s.tone, s.width, s.fill))
        else:
            pts = tuple(move(p) for p in s.points)
            placed.append(Stroke(pts, s.tone, s.width, s.fill, s.dashed))
    return Figure(tuple(placed))


def _end_pose(spec: Spec) -> Spec:
    """The end pose repeats the start except where it says otherwise."""
    start, end = spec["start"], spec["end"]
    merged = {k: {**start.get(k, {}), **end.get(k, {})} for k in ("angles", "scale", "offset")}
    return {**merged, "root": end.get("root", start.get("root", (0, 0)))}


def _changed(kind: str, spec: Spec, a0: dict[str, float], a1: dict[str, float]) -> set[str]:
    """Segments that move between the poses; only these are drawn faintly at the start."""
    start_curve, end_curve = _curves(spec)
    out = {n for n in SKELETONS[kind] if abs(a0[n] - a1[n]) > 0.5} | set(spec["moving"])
    out |= {n for n in end_curve if end_curve[n] != start_curve.get(n, 0.0)}
    out |= set(spec["end"].get("widths", {})) | set(spec["end"].get("offset", {}))
    if tuple(spec["start"].get("root", (0, 0))) != tuple(_end_pose(spec)["root"]):
        out |= set(SKELETONS[kind])  # the whole body shifts
    return out


def _curves(spec: Spec) -> tuple[dict[str, float], dict[str, float]]:
    start: dict[str, float] = spec["start"].get("curve", {})
    return start, {**start, **spec["end"].get("curve", {})}


@cache
def figure(code: str) -> Figure | None:
    """The picture for an exercise code, or None when the library has none."""
    spec = _poses().get(code)
    if spec is None:
        return None
    kind = spec.get("view", "body")
    p0, a0 = _place(kind, spec["start"])
    p1, a1 = _place(kind, _end_pose(spec))
    hidden = set(spec.get("hidden", []))
    start_width = {**spec.get("widths", {}), **spec["start"].get("widths", {})}
    end_width = {**start_width, **spec["end"].get("widths", {})}
    start_curve, end_curve = _curves(spec)
    still = set(SKELETONS[kind]) - _changed(kind, spec, a0, a1)
    ghost_tone: dict[str, Tone] = dict.fromkeys(SKELETONS[kind], "ghost")
    ghost = _skeleton_shapes(kind, p0, ghost_tone, hidden | still, start_width, start_curve)
    moving: dict[str, Tone] = dict.fromkeys(spec["moving"], "brand")
    body = _skeleton_shapes(kind, p1, moving, hidden, end_width, end_curve)
    joints = {**{f"start:{k}": v for k, v in p0.items()}, **p1}
    x0, _, x1, _ = _bounds(ghost + body)
    scene = Scene(joints, (x0, x1))
    props = [s for p in spec.get("props", []) for s in PROP_DRAWERS[p["kind"]](p, scene)]
    turn = {"start": a0, "end": a1}
    arrows = [s for a in spec["arrows"] for s in _arrow(a, joints, turn)]
    return _fit(props + ghost + body + arrows, 1.0 if kind == "body" else CLOSE_UP_ZOOM)


def _svg_shape(s: Shape) -> str:
    colour = COLOURS[s.tone]
    if isinstance(s, Circle):
        fill = colour if s.fill else "none"
        return (
            f'<circle cx="{s.centre[0]}" cy="{s.centre[1]}" r="{s.r}" fill="{fill}" '
            f'stroke="{colour}" stroke-width="{s.width}"/>'
        )
    d = "M" + " L".join(f"{x} {y}" for x, y in s.points) + (" Z" if s.fill else "")
    extra = ' stroke-dasharray="5 4"' if s.dashed else ""
    fill = colour if s.fill else "none"
    return (
        f'<path d="{d}" fill="{fill}" stroke="{colour}" stroke-width="{s.width}" '
        f'stroke-linecap="round" stroke-linejoin="round"{extra}/>'
    )


def svg(code: str, alt: str) -> str:
    """The exercise picture as inline SVG, labelled with ``alt`` (the exercise's name in the
    reader's language); empty when the exercise has no picture."""
    fig = figure(code)
    if fig is None:
        return ""
    body = "".join(_svg_shape(s) for s in fig.shapes)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" '
        f'role="img" aria-label={quoteattr(alt)} class="exercise-figure" '
        f'data-exercise="{code}">{body}</svg>'
    )
