"""The rule graph as a picture, laid out in pure Python (no Graphviz): courses in layers
from left to right along the rules, every rule an arrow with its label in a box of its own.

The layout is the classic layered one (Sugiyama): loops are broken by turning their
back edges round, courses get the layer of their longest path from where learners
enter, every edge longer than one layer runs through placeholder points (one of them
holding its label), the order inside each layer is improved by barycentre sweeps to
cut crossings, and the vertical positions are pulled towards their neighbours while
keeping every box clear of the next. Curves run only in the gaps between layers, so no
arrow crosses a box.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import matplotlib
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextToPath

from ..columns import TRIGGER_WORDS
from ..plots import Figure, quiet_glyphs
from .rulegraph import (
    RE_ENROLL_COLOUR,
    TYPE_COLORS,
    Edge,
    Membership,
    ReEnrollment,
    RuleGraph,
    edge_lines,
    loop_edges,
    node_lines,
    reenroll_lines,
    stats_for,
    stats_lines,
)

FONT = 8.0  # points
TITLE_FONT = 9.5
LABEL_FONT = 7.0
LINE = 1.25  # line height, in font sizes
PAD = 5.0  # inside boxes
GAP_Y = 12.0  # between boxes of one layer
GAP_X = 28.0  # between layers
LOOP_COLOR = "#ff9800"
MEMBER_COLOR = "#9e9e9e"
LOOP_ROOM = 20.0  # height of a self-loop's arc above its box
# Past these the picture is a summary (a layered drawing of thousands of courses takes
# minutes and is unreadable); the Mermaid text (`graph --out rules.md`) has every rule.
MAX_DRAWN_COURSES = 80
MAX_DRAWN_EDGES = 200
MAX_REPORTED_FINDINGS = 50  # lint findings the report lists under the picture
_width_cache: dict[tuple[str, float, bool], float] = {}
_TEXT = TextToPath()


def _text_width(text: str, size: float, bold: bool = False) -> float:
    key = (text, size, bold)
    if key not in _width_cache:
        prop = matplotlib.font_manager.FontProperties(
            family="DejaVu Sans", weight="bold" if bold else "normal", size=size
        )
        with quiet_glyphs():
            width, _, _ = _TEXT.get_text_width_height_descent(text, prop, ismath=False)
        _width_cache[key] = width * 1.04 + 1.0  # rendered glyphs run a little wider
    return _width_cache[key]


@dataclass
class _Item:
    """Something placed in a layer: a course, an edge label, or a point an edge passes."""

    kind: str  # "node", "label", "point"
    key: object
    col: int
    width: float = 0.0
    height: float = 6.0
    lines: list[str] = field(default_factory=list)
    top: float = 0.0  # extra room above a course for its self-loops
    x: float = 0.0
    y: float = 0.0  # centre of the box (without `top`), downwards

    @property
    def span(self) -> float:
        return self.height + self.top


@dataclass
class _Chain:
    """One drawn line: a rule edge or a membership, from layer to layer."""

    edge: Edge | Membership
    a: str  # the course on the left end
    b: str  # the course on the right end
    forward: bool  # the arrow points right (a is the rule's source)
    items: list[_Item] = field(default_factory=list)  # the points between a and b
    label: _Item | None = None


def rule_graph_figure(
    graph: RuleGraph,
    stats: dict | None = None,
    title: str | None = None,
    note: str = "",
) -> Figure:
    """Courses as boxes, rules as arrows coloured by trigger with a label box each, loops
    highlighted, members of curricula and bundles joined by dotted lines. With `stats`
    ((rule, target) -> outcome means, from `rulegraph.rule_stats`) each label says what
    the rule did in a run."""
    title = title or f"Rules of {graph.scenario.name}"
    too_big = too_big_to_draw(graph)
    if too_big:
        return _summary_figure(title, too_big)
    layout = _Layout(graph, stats_for(graph, stats))
    return layout.draw(title, note)


def too_big_to_draw(graph: RuleGraph) -> str:
    """Why the graph is summarised instead of drawn, or "" when it is drawn."""
    courses, edges = len(graph.nodes), len(graph.edges) + len(graph.memberships)
    if courses <= MAX_DRAWN_COURSES and edges <= MAX_DRAWN_EDGES:
        return ""
    return (
        f"{courses} courses and {edges} rule arrows and memberships: too many to draw (at most "
        f"{MAX_DRAWN_COURSES} courses and {MAX_DRAWN_EDGES} arrows); `postenroll-sim graph "
        "SCENARIO --out rules.md` writes every rule as Mermaid text"
    )


def _summary_figure(title: str, why: str) -> Figure:
    fig = Figure(figsize=(8, 1.2), dpi=110)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.text(0.02, 0.8, title, fontsize=11, fontweight="bold", va="top")
    ax.text(0.02, 0.45, textwrap.fill(why, 110), fontsize=8, color="0.3", va="top")
    return fig


class _Layout:
    def __init__(self, graph: RuleGraph, stats: dict[Edge, dict]):
        self.graph = graph
        self.stats = stats
        self.loops = loop_edges(graph)
        self.courses = list(graph.nodes)
        self.self_loops: dict[str, list[Edge | ReEnrollment]] = {c: [] for c in self.courses}
        links: list[tuple[str, str, Edge | Membership]] = []
        for e in graph.edges:
            if e.source == e.target:
                self.self_loops[e.source].append(e)
            else:
                links.append((e.source, e.target, e))
        for r in graph.reenrollments():  # S34: its own arrow, above the course's rule loops
            self.self_loops[r.course].append(r)
        ruled = {(e.source, e.target) for e in graph.edges}
        for m in graph.memberships:
            if (m.container, m.member) not in ruled and m.container != m.member:
                links.append((m.container, m.member, m))
        self.rank = self._ranks(links)
        self.nodes = {c: self._node_item(c) for c in self.courses}
        # a rule version with several targets to the right has one label, then fans out
        self.fan: dict[int, list[Edge]] = {}
        for u, v, e in links:
            if isinstance(e, Edge) and (u, v) not in self.reversed_pairs:
                self.fan.setdefault(id(e.version), []).append(e)
        self.shared: dict[int, _Item] = {}
        self.chains = [self._chain(u, v, e) for u, v, e in links]
        self.columns = self._columns()
        self._order()
        self._place()

    # ----- layers ------------------------------------------------------------------------

    def _ranks(self, links) -> dict[str, int]:
        """Longest-path layers after turning back edges round (DFS from where learners
        enter, then catalog order); sources are then pulled next to their first successor."""
        succ: dict[str, list[str]] = {c: [] for c in self.courses}
        for u, v, _ in links:
            if v not in succ[u]:
                succ[u].append(v)
        entered = [c for c in self.courses if self.graph.entries_of(c)]
        starts = entered + [c for c in self.courses if c not in entered]
        state: dict[str, int] = {}  # 1 on the stack, 2 done
        self.reversed_pairs: set[tuple[str, str]] = set()
        self.discovery: list[str] = []
        for start in starts:
            if start in state:
                continue
            stack = [(start, iter(succ[start]))]
            state[start] = 1
            self.discovery.append(start)
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[node] = 2
                    stack.pop()
                elif state.get(nxt) == 1:
                    self.reversed_pairs.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    self.discovery.append(nxt)
                    stack.append((nxt, iter(succ[nxt])))
        dag: dict[str, set[str]] = {c: set() for c in self.courses}
        for u, v, _ in links:
            a, b = (v, u) if (u, v) in self.reversed_pairs else (u, v)
            dag[a].add(b)
        preds: dict[str, set[str]] = {c: set() for c in self.courses}
        for a, bs in dag.items():
            for b in bs:
                preds[b].add(a)
        rank: dict[str, int] = {}
        remaining = dict.fromkeys(self.courses)
        while remaining:
            ready = [c for c in remaining if all(p in rank for p in preds[c])]
            ready = ready or [next(iter(remaining))]  # (a DAG always has one; never stall)
            for c in ready:
                rank[c] = max((rank[p] + 1 for p in preds[c] if p in rank), default=0)
                del remaining[c]
        for c in sorted(self.courses, key=lambda c: -rank[c]):
            if not preds[c] and dag[c]:
                rank[c] = max(0, min(rank[b] for b in dag[c]) - 1)
        self.dag = dag
        return rank

    # ----- items -------------------------------------------------------------------------

    def _node_item(self, course: str) -> _Item:
        node = self.graph.nodes[course]
        lines = node_lines(self.graph, node)
        width = max(
            [_text_width(lines[0], TITLE_FONT, True)] + [_text_width(t, FONT) for t in lines[1:]]
        )
        height = TITLE_FONT * LINE + FONT * LINE * (len(lines) - 1) + 2 * PAD
        item = _Item("node", course, 2 * self.rank[course], width + 2 * PAD, height, lines)
        top = 0.0
        for e in self.self_loops[course]:
            w, h = self._label_size(self._edge_lines(e))
            item.width = max(item.width, w + 8)
            top += h + LOOP_ROOM
        item.top = top
        return item

    def _edge_lines(self, edge: Edge | ReEnrollment) -> list[str]:
        if isinstance(edge, ReEnrollment):
            return reenroll_lines(edge)
        return edge_lines(
            edge,
            self.stats.get(edge) if self.stats else None,
            self.graph.scenario.start_date,
        )

    def _fan_lines(self, edges: list[Edge]) -> list[str]:
        """One label for a rule version's targets: what it does, then per target what it
        did in the run."""
        if len(edges) == 1:
            return self._edge_lines(edges[0])
        lines = edge_lines(edges[0], start=self.graph.scenario.start_date)
        for e in edges:
            if e in self.stats:
                first, *more = stats_lines(self.stats[e])
                lines += [f"→ {e.target}: {first}", *(f"   {m}" for m in more)]
        return lines

    @staticmethod
    def _label_size(lines: list[str]) -> tuple[float, float]:
        width = max(_text_width(t, LABEL_FONT, i == 0) for i, t in enumerate(lines))
        return width + 2 * 5, LABEL_FONT * LINE * len(lines) + 2 * 3.5

    def _chain(self, u: str, v: str, edge) -> _Chain:
        forward = (u, v) not in self.reversed_pairs
        a, b = (u, v) if forward else (v, u)
        chain = _Chain(edge, a, b, forward)
        ca, cb = 2 * self.rank[a], 2 * self.rank[b]
        label_col = (ca + 1) if forward else (cb - 1)
        for col in range(ca + 1, cb):
            if isinstance(edge, Edge) and col == label_col:
                key = id(edge.version) if forward else id(chain)
                item = self.shared.get(key)
                if item is None:
                    edges = self.fan[key] if forward else [edge]
                    lines = self._fan_lines(edges)
                    w, h = self._label_size(lines)
                    item = self.shared[key] = _Item("label", edge, col, w, h, lines)
                chain.label = item
            else:
                item = _Item("point", chain, col, 0.0, 5.0)
            chain.items.append(item)
        return chain

    def _columns(self) -> list[list[_Item]]:
        n = 2 * max(self.rank.values(), default=0) + 1
        columns: list[list[_Item]] = [[] for _ in range(n)]
        for course in sorted(self.courses, key=self.discovery.index):
            columns[self.nodes[course].col].append(self.nodes[course])
        placed: set[int] = set()
        for chain in self.chains:
            for item in chain.items:
                if id(item) not in placed:
                    placed.add(id(item))
                    columns[item.col].append(item)
        return columns

    # ----- order within layers -----------------------------------------------------------

    def _neighbours(self) -> tuple[dict[int, list[_Item]], dict[int, list[_Item]]]:
        """id(item) -> items it connects to in the layer before / after."""
        left: dict[int, list[_Item]] = {}
        right: dict[int, list[_Item]] = {}
        for chain in self.chains:
            seq = [self.nodes[chain.a], *chain.items, self.nodes[chain.b]]
            for p, q in zip(seq, seq[1:], strict=False):
                if q not in right.setdefault(id(p), []):
                    right[id(p)].append(q)
                if p not in left.setdefault(id(q), []):
                    left[id(q)].append(p)
        return left, right

    def _order(self) -> None:
        left, right = self._neighbours()
        self._left, self._right = left, right

        def positions():
            return {id(it): i for col in self.columns for i, it in enumerate(col)}

        best = [list(c) for c in self.columns]
        best_cross = self._crossings(positions())
        for sweep in range(12):
            down = sweep % 2 == 0
            cols = range(1, len(self.columns)) if down else range(len(self.columns) - 2, -1, -1)
            for c in cols:
                pos = positions()
                near = left if down else right
                col = self.columns[c]
                keys = {}
                for i, it in enumerate(col):
                    ns = near.get(id(it), [])
                    keys[id(it)] = sum(pos[id(n)] for n in ns) / len(ns) if ns else i
                col.sort(key=lambda it, keys=keys: keys[id(it)])
            crossing = self._crossings(positions())
            if crossing < best_cross:
                best, best_cross = [list(c) for c in self.columns], crossing
        self.columns = best
        self.crossings = best_cross

    def _crossings(self, pos: dict[int, int]) -> int:
        total = 0
        for c in range(len(self.columns) - 1):
            pairs = [
                (pos[id(it)], pos[id(n)])
                for it in self.columns[c]
                for n in self._right.get(id(it), [])
            ]
            for i, (a1, b1) in enumerate(pairs):
                for a2, b2 in pairs[i + 1 :]:
                    if (a1 - a2) * (b1 - b2) < 0:
                        total += 1
        return total

    # ----- coordinates ---------------------------------------------------------------------

    def _place(self) -> None:
        # x: layers side by side, each as wide as its widest box
        x = 0.0
        self.col_width = []
        for col in self.columns:
            width = max([it.width for it in col] + [14.0])
            for it in col:
                it.x = x + width / 2
            self.col_width.append(width)
            x += width + GAP_X
        self.width = x - GAP_X
        # y: stacked, then pulled towards neighbours while boxes keep clear of each other
        for col in self.columns:
            y = 0.0
            for it in col:
                y += it.top
                it.y = y + it.height / 2
                y += it.height + GAP_Y
        for sweep in range(24):
            cols = self.columns if sweep % 2 == 0 else list(reversed(self.columns))
            for col in cols:
                targets, weights = [], []
                for it in col:
                    ns = self._left.get(id(it), []) + self._right.get(id(it), [])
                    if ns:
                        targets.append(sum(n.y for n in ns) / len(ns))
                        weights.append(2.0 if it.kind != "node" else 1.0)
                    else:
                        targets.append(it.y)
                        weights.append(0.2)
                _pack(col, targets, weights)
        top = min((it.y - it.height / 2 - it.top for col in self.columns for it in col), default=0)
        for col in self.columns:
            for it in col:
                it.y -= top
        self.height = max((it.y + it.height / 2 for col in self.columns for it in col), default=0.0)

    # ----- drawing -------------------------------------------------------------------------

    def draw(self, title: str, note: str) -> Figure:
        margin, head = 14.0, 58.0
        width = max(self.width + 2 * margin, 560.0)
        height = self.height + 2 * margin + head
        fig = Figure(figsize=(width / 72, height / 72), dpi=110)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(-margin, width - margin)
        ax.set_ylim(self.height + margin, -margin - head)  # downwards, like the layout
        ax.set_axis_off()
        self.ax = ax
        self.drawn: set[int] = set()
        for chain in self.chains:
            self._draw_chain(chain)
        for course in self.courses:
            self._draw_node(self.nodes[course])
            for k, edge in enumerate(self.self_loops[course]):
                self._draw_self_loop(self.nodes[course], edge, k)
        ax.text(0, -margin - head + 4, title, fontsize=11, fontweight="bold", va="top")
        ax.text(
            0,
            -margin - head + 20,
            _fit(note or _LEGEND_NOTE, width - 2 * margin, 7.5),
            fontsize=7.5,
            color="0.35",
            va="top",
        )
        handles = [
            *(
                Line2D([], [], color=words.colour, label=f"when {trigger}")
                for trigger, words in TRIGGER_WORDS.items()
            ),
            Line2D([], [], color=RE_ENROLL_COLOUR, lw=2.2, label="re-enrollment"),
            Line2D([], [], color=LOOP_COLOR, lw=6, alpha=0.4, label="on a loop"),
            Line2D([], [], color=MEMBER_COLOR, ls=":", label="member of"),
            Patch(facecolor="white", edgecolor="0.4", ls="--", label="inactive"),
        ]
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0.0, 1 - (head - 26) / height),
            ncol=7,
            fontsize=7,
            frameon=False,
            handlelength=2.2,
            borderaxespad=0.3,
            columnspacing=1.2,
        )
        return fig

    def _draw_node(self, it: _Item) -> None:
        node = self.graph.nodes[it.key]
        fill, stroke = TYPE_COLORS[node.type]
        hidden = not node.active
        self.ax.add_patch(
            FancyBboxPatch(
                (it.x - it.width / 2, it.y - it.height / 2),
                it.width,
                it.height,
                boxstyle="round,pad=0,rounding_size=5",
                facecolor="#f5f5f5" if hidden else fill,
                edgecolor=stroke,
                linewidth=1.6 if node.type in ("curriculum", "bundle") else 1.0,
                linestyle="--" if hidden else "-",
                zorder=3,
            )
        )
        y = it.y - it.height / 2 + PAD
        for i, text in enumerate(it.lines):
            size = TITLE_FONT if i == 0 else FONT
            self.ax.text(
                it.x,
                y,
                text,
                fontsize=size,
                fontweight="bold" if i == 0 else "normal",
                color="0.1" if i < 2 else "0.3",
                ha="center",
                va="top",
                zorder=4,
            )
            y += size * LINE

    def _ports(self) -> dict[tuple[int, str], list[tuple[_Chain, float]]]:
        """Where each chain meets a course box: spread over the box side, in the order of
        where the lines come from, so that they do not cross at the box."""
        if hasattr(self, "_port_cache"):
            return self._port_cache
        sides: dict[tuple[str, str], dict[int, tuple[float, list[_Chain]]]] = {}
        for chain in self.chains:
            first = chain.items[0] if chain.items else self.nodes[chain.b]
            last = chain.items[-1] if chain.items else self.nodes[chain.a]
            for course, side, near in ((chain.a, "right", first), (chain.b, "left", last)):
                entry = sides.setdefault((course, side), {}).setdefault(id(near), (near.y, []))
                entry[1].append(chain)  # lines through one label leave at one point
        ports = {}
        for (course, side), by_near in sides.items():
            node = self.nodes[course]
            entries = sorted(by_near.values(), key=lambda p: p[0])
            n = len(entries)
            spread = min(node.height * 0.7, 9.0 * (n - 1))
            for k, (_, chains) in enumerate(entries):
                offset = -spread / 2 + (spread * k / (n - 1) if n > 1 else 0.0)
                for chain in chains:
                    ports[(id(chain), side)] = node.y + offset
        self._port_cache = ports
        return ports

    def _route(self, chain: _Chain) -> list[tuple[float, float, bool]]:
        """Points from the left course to the right one: (x, y, straight-to-here)."""
        ports = self._ports()
        a, b = self.nodes[chain.a], self.nodes[chain.b]
        pts = [(a.x + a.width / 2, ports[(id(chain), "right")], False)]
        pts.append((a.x + self.col_width[a.col] / 2, pts[-1][1], True))
        for it in chain.items:
            w = it.width if it.kind == "label" else self.col_width[it.col]
            half = max(w, 0.0) / 2
            pts.append((it.x - self.col_width[it.col] / 2, it.y, False))
            if it.kind == "label":
                pts.append((it.x - half, it.y, True))
                pts.append((it.x + half, it.y, True))
            pts.append((it.x + self.col_width[it.col] / 2, it.y, True))
        yb = ports[(id(chain), "left")]
        pts.append((b.x - self.col_width[b.col] / 2, yb, False))
        pts.append((b.x - b.width / 2, yb, True))
        kept = [pts[0]]
        for p in pts[1:]:  # a box as wide as its layer: no straight piece to its side
            if abs(p[0] - kept[-1][0]) > 0.5 or abs(p[1] - kept[-1][1]) > 0.5:
                kept.append(p)
        return kept

    def boxes(self) -> list[tuple[str, str, float, float, float, float]]:
        """Every box drawn, as (kind, name, left, top, right, bottom) in points: courses,
        rule labels, and the labels of self-loops (for tests of the layout)."""
        out = []
        for col in self.columns:
            for it in col:
                if it.kind == "point":
                    continue
                name = it.key if it.kind == "node" else it.key.rule
                out.append((it.kind, name, *_box(it.x, it.y, it.width, it.height)))
        for course, loops in self.self_loops.items():
            for k, edge in enumerate(loops):
                x, y, w, h = self._self_loop(self.nodes[course], edge, k)[1:]
                out.append(("label", edge.rule, *_box(x, y, w, h)))
        return out

    def lines(self) -> list[tuple[_Chain, MplPath]]:
        """Every line between boxes, with the path it is drawn along."""
        return [(chain, self._path(chain)) for chain in self.chains]

    def _path(self, chain: _Chain) -> MplPath:
        pts = self._route(chain)
        verts, codes = [pts[0][:2]], [MplPath.MOVETO]
        for (x0, y0, _), (x1, y1, straight) in zip(pts, pts[1:], strict=False):
            if straight or abs(y1 - y0) < 0.01:
                verts.append((x1, y1))
                codes.append(MplPath.LINETO)
            else:
                mid = (x1 - x0) / 2
                verts += [(x0 + mid, y0), (x1 - mid, y1), (x1, y1)]
                codes += [MplPath.CURVE4] * 3
        if not chain.forward:  # the arrow points at the rule's target, on the left
            verts, codes = _reverse(verts, codes)
        return MplPath(verts, codes)

    def _draw_chain(self, chain: _Chain) -> None:
        path = self._path(chain)
        edge = chain.edge
        if isinstance(edge, Membership):
            self.ax.add_patch(
                FancyArrowPatch(
                    path=path,
                    arrowstyle="-",
                    color=MEMBER_COLOR,
                    linestyle=":",
                    linewidth=1.2,
                    zorder=1,
                )
            )
            return
        color = TRIGGER_WORDS[edge.when].colour
        dashed = edge.version.first > 0 or edge.version.until_day is not None
        if (edge.rule, edge.source, edge.target) in self.loops:
            self.ax.add_patch(
                FancyArrowPatch(
                    path=path, arrowstyle="-", color=LOOP_COLOR, alpha=0.35, linewidth=7, zorder=1
                )
            )
        self.ax.add_patch(
            FancyArrowPatch(
                path=path,
                arrowstyle="-|>",
                mutation_scale=9,
                color=color,
                linewidth=1.3,
                linestyle="--" if dashed else "-",
                shrinkA=0,
                shrinkB=0,
                zorder=2,
            )
        )
        if chain.label is not None and id(chain.label) not in self.drawn:
            self.drawn.add(id(chain.label))
            self._draw_label(chain.label.x, chain.label.y, chain.label, edge)

    def _draw_label(self, x: float, y: float, it: _Item, edge: Edge | ReEnrollment) -> None:
        color = _colour(edge)
        self.ax.add_patch(
            FancyBboxPatch(
                (x - it.width / 2, y - it.height / 2),
                it.width,
                it.height,
                boxstyle="round,pad=0,rounding_size=3",
                facecolor="white",
                edgecolor=color,
                linewidth=0.8,
                zorder=5,
            )
        )
        ty = y - it.height / 2 + 3.5
        for i, text in enumerate(it.lines):
            self.ax.text(
                x,
                ty,
                text,
                fontsize=LABEL_FONT,
                fontweight="bold" if i == 0 else "normal",
                color=color if i == 0 else ("0.15" if i < 3 else "0.35"),
                ha="center",
                va="top",
                zorder=6,
            )
            ty += LABEL_FONT * LINE

    def _self_loop(self, node: _Item, edge: Edge, k: int):
        """A loop on the top of the box with its label above it; the k-th loop of a course
        sits above the ones before it, going round them. Returns the loop's path and the
        label's centre and size."""
        w, h = self._label_size(self._edge_lines(edge))
        top = node.y - node.height / 2
        inner = [self._label_size(self._edge_lines(e)) for e in self.self_loops[node.key][:k]]
        apex = top - sum(ih + LOOP_ROOM for _, ih in inner) - LOOP_ROOM + 4
        peak = top - (top - apex) / 0.75  # a cubic's top is 3/4 of the way to its controls
        widest = max([iw for iw, _ in inner], default=0.0)
        spread = min(node.width / 2 - 5, max(14.0, widest / 2 + 6))
        x0, x1 = node.x + spread, node.x - spread
        path = MplPath(
            [(x0, top), (x0, peak), (x1, peak), (x1, top)],
            [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4],
        )
        return path, node.x, apex - 3 - h / 2, w, h

    def _draw_self_loop(self, node: _Item, edge: Edge | ReEnrollment, k: int) -> None:
        path, x, y, w, h = self._self_loop(node, edge, k)
        if (edge.rule, edge.source, edge.target) in self.loops:
            self.ax.add_patch(
                FancyArrowPatch(
                    path=path, arrowstyle="-", color=LOOP_COLOR, alpha=0.35, linewidth=7, zorder=1
                )
            )
        rule = isinstance(edge, Edge)
        dashed = rule and (edge.version.first > 0 or edge.version.until_day is not None)
        self.ax.add_patch(
            FancyArrowPatch(
                path=path,
                arrowstyle="-|>",
                mutation_scale=9,
                color=_colour(edge),
                linewidth=1.3 if rule else 2.2,
                linestyle="--" if dashed else "-",
                shrinkA=0,
                shrinkB=0,
                zorder=2,
            )
        )
        label = _Item("label", None, node.col, w, h, self._edge_lines(edge))
        self._draw_label(x, y, label, edge)


_LEGEND_NOTE = (
    "Boxes are courses (▶ where learners enter); arrows are rules (dashed: changed by the script)."
)


def _colour(edge: Edge | ReEnrollment) -> str:
    return edge.colour if isinstance(edge, ReEnrollment) else TRIGGER_WORDS[edge.when].colour


def _box(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def layout(graph: RuleGraph, stats: dict | None = None) -> _Layout:
    """The laid-out graph, without drawing it (its `boxes()` and `lines()`)."""
    return _Layout(graph, stats_for(graph, stats))


def _fit(text: str, width: float, size: float) -> str:
    """`text` shortened to fit `width` points."""
    while _text_width(text, size) > width and len(text) > 10:
        text = text[: int(len(text) * 0.9)].rstrip() + "…"
    return text


def _reverse(verts, codes):
    """The same path drawn from the other end."""
    rv = list(reversed(verts))
    rc = [MplPath.MOVETO] + list(reversed(codes[1:]))
    return rv, rc


def _pack(col: list[_Item], targets: list[float], weights: list[float]) -> None:
    """Move the items of a layer as close to their targets as possible (weighted least
    squares) keeping their order and at least GAP_Y between boxes (pool adjacent violators
    on the positions less the minimal offsets)."""
    offsets, o = [], 0.0
    for i, it in enumerate(col):
        if i:
            prev = col[i - 1]
            o += prev.height / 2 + GAP_Y + it.top + it.height / 2
        offsets.append(o)
    blocks: list[list[float]] = []  # [value, weight, count]
    for t, w, off in zip(targets, weights, offsets, strict=True):
        blocks.append([t - off, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    i = 0
    for value, _, count in blocks:
        for _ in range(count):
            col[i].y = value + offsets[i]
            i += 1


def report_figure(result, counts: list | None = None) -> tuple[Figure, list[str], str]:
    """The rule graph of a run's scenario with what each rule did (mean per run), the
    `lint` findings of its rules (the first MAX_REPORTED_FINDINGS), and why the picture
    is only a summary ("" when it is drawn), for the report. `counts`: the run's
    `rulegraph.rule_counts`, taken a few replications at a time (default: of its
    tables)."""
    from .lint import lint_scenario
    from .rulegraph import build, rule_stats, stats_of

    runs = max(1, result.replications) * max(1, len(result.variants))
    graph = build(result.scenario)
    note = (
        "Labels say what each rule did in this run"
        + (f" (mean of {runs} runs)" if runs > 1 else "")
        + ": jobs, enrolled, skipped and why."
    )
    stats = (
        rule_stats(result.jobs, runs, result.events, graph)
        if counts is None
        else stats_of(counts, runs)
    )
    figure = rule_graph_figure(graph, stats, note=note)
    found = lint_scenario(result.scenario).findings
    findings = [f"{f.code} {f.severity}: {f.message}" for f in found[:MAX_REPORTED_FINDINGS]]
    if len(found) > MAX_REPORTED_FINDINGS:
        findings.append(
            f"... and {len(found) - MAX_REPORTED_FINDINGS} more: `postenroll-sim lint` lists them all"
        )
    return figure, findings, too_big_to_draw(graph)
