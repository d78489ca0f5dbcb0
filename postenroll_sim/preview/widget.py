"""The preview as ipywidgets: a thin view over `PreviewModel` (model.py). In JupyterLab:

    from postenroll_sim.preview import Preview
    Preview("scenarios/showcase.yaml")

Served as a page: `postenroll-sim preview SCENARIO` (serve.py, Voila). Each field calls
one method of the model and shows what it returns; a run goes on a thread of its own, so
the Cancel button is heard while it runs. Every element a test or a stylesheet finds has
a class `pe-...` (docs/preview.md).
"""

from __future__ import annotations

import html
import threading

import ipywidgets as w

from ..formatting import plural
from ..scenario import ScenarioError
from .edits import PERIOD_UNITS
from .model import EDITED, MAX_REPLICATIONS, PUBLISHED, Cancelled, PreviewModel

TRIGGERS = ("enrolled", "completed", "failed")

_STYLE = """
<style>
.pe-root { font-family: system-ui, sans-serif; font-size: 14px; }
.pe-root h2 { margin: 4px 0; font-size: 20px; }
.pe-root .pe-note { color: #555; }
.pe-root .widget-html-content { line-height: 1.4; }
.pe-root pre { white-space: pre-wrap; word-break: normal; overflow-wrap: break-word;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 12px; line-height: 1.35; margin: 0; }
.pe-root .pe-scroll { overflow-x: auto; }
.pe-root table.pe-table { border-collapse: collapse; font-size: 13px; }
.pe-root table.pe-table th, .pe-root table.pe-table td {
  border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top;
  white-space: nowrap; line-height: 1.35; }
.pe-root tr.pe-changed td { background: #fff3cd; }
.pe-root .pe-problem { color: #a00; }
.pe-root .pe-finding-warning, .pe-root .pe-finding-error { color: #8a4b00; }
.pe-root .pe-graph svg { max-width: 100%; height: auto; }
</style>
"""


def _pre(text: str, cls: str = "") -> str:
    return f'<pre class="{cls}">{html.escape(text)}</pre>'


def _table(frame, changed_column: str | None = None) -> str:
    """A DataFrame as an HTML table, its rows with something in `changed_column` marked."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        marked = changed_column is not None and bool(row[changed_column])
        # an instant breaks before its day number only: `2027-01-10 02:00` / `(day 6.08)`
        cells = "".join(
            f"<td>{html.escape(str(v)).replace(' (day ', '<br>(day ')}</td>" for v in row
        )
        body.append(f'<tr class="{"pe-changed" if marked else ""}">{cells}</tr>')
    return f'<div class="pe-scroll"><table class="pe-table"><tr>{head}</tr>{"".join(body)}</table></div>'


class Preview(w.VBox):
    """The interactive preview of one scenario file (docs/preview.md)."""

    def __init__(self, path, drafts=None, model: PreviewModel | None = None):
        self.model = model or PreviewModel(path, drafts=drafts)
        m = self.model
        self._quiet = False  # while the form is filled from the model, no edits are made
        self._thread: threading.Thread | None = None

        self.title = w.HTML(
            f"{_STYLE}<h2>{html.escape(m.published.name)}</h2>"
            f'<div class="pe-note">{html.escape(m.file)}</div>'
        )
        self.status = w.HTML().add_class("pe-status")

        # --- the rule form -------------------------------------------------------------
        rules = list(m.rules.values())
        self.rule = w.Dropdown(
            options=[(r.label, r.rule_id) for r in rules],
            description="Rule",
            layout=w.Layout(width="100%"),
        ).add_class("pe-rule")
        self.rule_words = w.HTML().add_class("pe-rule-words")
        self.when = w.Dropdown(options=TRIGGERS, description="When").add_class("pe-when")
        self.delay = w.BoundedIntText(
            min=0, max=36_500, description="Delay (days)", style={"description_width": "initial"}
        ).add_class("pe-delay")
        self.targets = w.SelectMultiple(
            options=m.course_ids, description="Enroll in", rows=min(6, len(m.course_ids))
        ).add_class("pe-targets")
        self.consecutive = w.Checkbox(
            description="Allow consecutive enrollments", indent=False
        ).add_class("pe-consecutive")
        rule_box = w.VBox(
            [self.rule, self.rule_words, self.when, self.delay, self.targets, self.consecutive]
        )
        if not rules:
            rule_box = w.HTML("<i>This scenario has no Post Enrollment rules.</i>")

        # --- the certificate form ------------------------------------------------------
        certs = list(m.certificates.values())
        self.certificate = w.Dropdown(
            options=[(c.label, c.course) for c in certs], description="Certificate"
        ).add_class("pe-certificate")
        self.reenroll = w.Checkbox(description="Re-enroll before expiry", indent=False).add_class(
            "pe-reenroll"
        )
        self.window = w.BoundedIntText(min=0, max=36_500, layout=w.Layout(width="90px")).add_class(
            "pe-window"
        )
        self.window_unit = w.Dropdown(options=PERIOD_UNITS, layout=w.Layout(width="100px"))
        cert_box = (
            w.VBox(
                [
                    self.certificate,
                    w.HBox([self.reenroll, self.window, self.window_unit, w.Label("before")]),
                ]
            )
            if certs
            else w.HTML("")
        )

        self.edits = w.HTML().add_class("pe-edits")
        self.reset = w.Button(description="Reset all edits", icon="undo").add_class("pe-reset")

        # --- running -------------------------------------------------------------------
        learners = m.learners()
        self.learner = w.Combobox(
            options=learners,
            value=m.learner or (learners[0] if learners else ""),
            description="Learner",
            ensure_option=False,
            placeholder="a learner id",
        ).add_class("pe-learner")
        self.replications = w.BoundedIntText(
            value=m.replications or m.default_replications,
            min=1,
            max=MAX_REPLICATIONS,
            description="Replications",
            style={"description_width": "initial"},
            layout=w.Layout(width="180px"),
        ).add_class("pe-replications")
        self.run_button = w.Button(
            description="Run", button_style="primary", icon="play", layout=w.Layout(width="auto")
        ).add_class("pe-run")
        self.cancel_button = w.Button(
            description="Cancel", icon="stop", disabled=True, layout=w.Layout(width="auto")
        ).add_class("pe-cancel")
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="200px"))
        self.progress_text = w.HTML().add_class("pe-progress")

        # --- saving --------------------------------------------------------------------
        self.save_path = w.Text(
            value=m.file, description="Save as", layout=w.Layout(width="100%")
        ).add_class("pe-save-path")
        self.save_button = w.Button(description="Save YAML", icon="save").add_class("pe-save")
        self.saved = w.HTML().add_class("pe-saved")

        # --- what is shown -------------------------------------------------------------
        self.graph = w.HTML().add_class("pe-graph")
        self.lint = w.HTML().add_class("pe-lint")
        self.learner_view = w.HTML(
            '<i class="pe-note">Choose a learner and press Run.</i>'
        ).add_class("pe-learner-view")
        self.story = w.HTML().add_class("pe-story")
        self.comparison = w.HTML(
            '<i class="pe-note">Press Run to compare the edited rules with the published ones.</i>'
        ).add_class("pe-comparison")
        self.yaml = w.HTML().add_class("pe-yaml")
        self.tabs = w.Tab(
            [
                self.graph,
                self.lint,
                # the learner's table at its own width, `explain` beside it where the
                # page is wide enough and under it where it is not (never over the table)
                w.Box(
                    layout=w.Layout(width="100%", flex_flow="row wrap", align_items="flex-start"),
                    children=[
                        w.Box(
                            [self.learner_view],
                            layout=w.Layout(
                                flex="0 1 auto", max_width="100%", padding="0 12px 8px 0"
                            ),
                        ),
                        w.Box([self.story], layout=w.Layout(flex="1 1 360px", min_width="300px")),
                    ],
                ).add_class("pe-learner-tab"),
                self.comparison,
                self.yaml,
            ]
        ).add_class("pe-tabs")
        for i, name in enumerate(["Rule graph", "Lint", "Learner", "What changed", "Edited YAML"]):
            self.tabs.set_title(i, name)

        form = w.VBox(
            [
                w.HTML("<b>Edit a rule</b>"),
                rule_box,
                cert_box,
                self.edits,
                self.reset,
                w.HTML("<hr><b>Run</b>"),
                self.learner,
                w.HBox([self.replications, self.run_button, self.cancel_button]),
                w.HBox([self.progress, self.progress_text]),
                w.HTML("<hr><b>Save</b>"),
                self.save_path,
                self.save_button,
                self.saved,
            ],
            layout=w.Layout(width="400px", min_width="360px", padding="0 12px 0 0"),
        )
        self.tabs.layout = w.Layout(width="100%")
        body = w.HBox(
            [
                form,
                w.Box([self.tabs], layout=w.Layout(flex="1 1 0", min_width="0", overflow="hidden")),
            ],
            layout=w.Layout(width="100%"),
        )
        super().__init__([self.title, self.status, body])
        self.add_class("pe-root")

        for field in (self.when, self.delay, self.targets, self.consecutive):
            field.observe(self._on_rule_field, names="value")
        self.rule.observe(lambda _: self._fill_rule(), names="value")
        for field in (self.reenroll, self.window, self.window_unit):
            field.observe(self._on_certificate_field, names="value")
        self.certificate.observe(lambda _: self._fill_certificate(), names="value")
        self.reset.on_click(self._on_reset)
        self.run_button.on_click(self._on_run)
        self.cancel_button.on_click(lambda _: self.model.cancel())
        self.save_button.on_click(self._on_save)
        edited = [r for r in m.rule_edits if r in m.rules]
        if edited:  # edits restored from a draft: their rule's form is the one shown
            self.rule.value = edited[0]
        self._fill_rule()
        self._fill_certificate()
        self._refresh()
        if m.restored:
            self.status.value = f'<div class="pe-note">{html.escape(m.restored)}</div>'

    # --- the form <-> the model ---------------------------------------------------------

    def _fill_rule(self) -> None:
        if not self.model.rules:
            return
        s = self.model.settings(self.rule.value)
        self._quiet = True
        try:
            self.when.value = s.when
            self.delay.value = s.delay_days
            self.targets.value = tuple(c for c in s.courses if c in self.targets.options)
            self.consecutive.value = s.allow_consecutive
        finally:
            self._quiet = False
        self.rule_words.value = f'<div class="pe-note">{html.escape(s.words())}</div>'

    def _fill_certificate(self) -> None:
        if not self.model.certificates:
            return
        window = self.model.reenroll_before(self.certificate.value)
        self._quiet = True
        try:
            self.reenroll.value = window is not None
            if window is not None:
                self.window.value, self.window_unit.value = window
            self.window.disabled = self.window_unit.disabled = window is None
        finally:
            self._quiet = False

    def _on_rule_field(self, _change) -> None:
        if self._quiet:
            return
        if not self.targets.value:
            self._say_problem("a rule enrolls into at least one course: choose one")
            return
        self.model.set_rule(
            self.rule.value,
            when=self.when.value,
            delay_days=self.delay.value,
            courses=list(self.targets.value),
            allow_consecutive=self.consecutive.value,
        )
        self._fill_rule()
        self._refresh()

    def _on_certificate_field(self, _change) -> None:
        if self._quiet:
            return
        period = (self.window.value, self.window_unit.value) if self.reenroll.value else None
        self.model.set_reenroll_before(self.certificate.value, period)
        self._fill_certificate()
        self._refresh()

    def _on_reset(self, _button) -> None:
        self.model.reset()
        self._fill_rule()
        self._fill_certificate()
        self._refresh()

    def _say_problem(self, text: str) -> None:
        self.edits.value = _pre(text, "pe-problem")

    def _refresh(self) -> None:
        """What depends on the edits: their list, lint, the graph, the edited YAML."""
        m = self.model
        problems = m.problems()
        if problems:
            self.edits.value = _pre("\n".join(problems), "pe-problem")
            self.run_button.disabled = self.save_button.disabled = True
            return
        self.run_button.disabled = self._thread is not None
        self.save_button.disabled = False
        changes = m.changes()
        self.edits.value = (
            "<b>Edits</b> (against the published file):" + _pre("\n".join(changes))
            if changes
            else '<div class="pe-note">No edits: the published version.</div>'
        )
        found = m.lint()
        if found.findings:
            items = "".join(
                f'<li class="pe-finding-{f.severity}"><b>{f.code} {f.severity}</b> '
                f"line {f.line}: {html.escape(f.message)}<br><i>fix:</i> {html.escape(f.fix)}</li>"
                for f in found.findings
            )
            self.lint.value = f"<ul>{items}</ul>"
        else:
            self.lint.value = "<p>Lint finds no trap in these rules.</p>"
        self.tabs.set_title(1, f"Lint ({len(found.findings)})")
        try:
            self.graph.value = m.rule_graph_svg()
        except Exception as exc:  # a drawing problem must not lose the form
            self.graph.value = _pre(f"the graph could not be drawn: {exc}", "pe-problem")
        self.yaml.value = _pre(m.edited_text())

    # --- running --------------------------------------------------------------------------

    def _on_run(self, _button) -> None:
        if self._thread is not None:
            return
        self.run_button.disabled = True
        self.cancel_button.disabled = False
        self.progress.value, self.progress.max = 0, 2 * self.replications.value
        self.progress_text.value = "starting"
        learner, reps = self.learner.value.strip(), self.replications.value
        self._thread = threading.Thread(target=self._run, args=(learner, reps), daemon=True)
        self._thread.start()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max, self.progress.value = total, done
        self.progress_text.value = f"{done} of {total} runs"

    def _run(self, learner: str, replications: int) -> None:
        try:
            outcome = self.model.run(learner, replications, progress=self._on_progress)
        except Cancelled as exc:
            self.progress_text.value = html.escape(str(exc))
        except ScenarioError as exc:
            self.progress_text.value = _pre(exc.shown(), "pe-problem")
        except ValueError as exc:  # NotComparable, a bad number of replications
            self.progress_text.value = _pre(str(exc), "pe-problem")
        except Exception as exc:  # a bug: said in one line, never a traceback
            self.progress_text.value = _pre(
                f"internal error (a bug: please report it): {type(exc).__name__}: {exc}",
                "pe-problem",
            )
        else:
            self._show(outcome)
        finally:
            self._thread = None
            self.cancel_button.disabled = True
            self.run_button.disabled = bool(self.model.problems())

    def _show(self, outcome) -> None:
        self.progress_text.value = (
            f'<span class="pe-done">done: {plural(outcome.replications, "replication")} of each '
            f"version in {outcome.seconds:.1f} s</span>"
        )
        learners = self.model.learners()
        if list(self.learner.options) != learners:
            self.learner.options = learners
        if outcome.learner is None:
            self.learner_view.value = (
                '<i class="pe-note">Choose a learner (the Learner field now lists the '
                f"{len(learners)} of this run) and press Run.</i>"
            )
            self.story.value = ""
        elif outcome.learner_table.empty:
            some = ", ".join(learners[:5]) + (", ..." if len(learners) > 5 else "")
            self.learner_view.value = (
                f"<p><b>{html.escape(outcome.learner)}</b>: no enrollment in either version "
                f"(replication 0). The run's learners are {html.escape(some)}: the Learner "
                "field lists them.</p>"
            )
            self.story.value = _pre(outcome.story, "pe-story-text")
        else:
            table = outcome.learner_table
            moved = int((table["what changed"] != "").sum())
            head = (
                f"<b>{html.escape(outcome.learner)}</b>: "
                + (
                    f"{plural(moved, 'enrollment')} changed"
                    if moved
                    else "nothing changed for this learner"
                )
                + f" (replication 0; {PUBLISHED} against {EDITED})"
            )
            self.learner_view.value = f"<p>{head}</p>" + _table(table, "what changed")
            self.story.value = f"<b>Why</b> (explain, {EDITED} version):" + _pre(
                outcome.story, "pe-story-text"
            )
        changed = outcome.changed_numbers()
        summary = (
            f"<p><b>{plural(len(changed), 'number')} changed</b> beyond noise (marked *)</p>"
            if len(changed)
            else "<p>No number changed beyond noise.</p>"
        )
        self.comparison.value = summary + _pre(outcome.comparison, "pe-comparison-text")
        self.tabs.selected_index = 2

    # --- saving ---------------------------------------------------------------------------

    def _on_save(self, _button) -> None:
        try:
            target = self.model.save(self.save_path.value.strip() or None)
        except ScenarioError as exc:
            self.saved.value = _pre(exc.shown(), "pe-problem")
            return
        except OSError as exc:
            self.saved.value = _pre(f"cannot save: {exc.strerror or exc}", "pe-problem")
            return
        self.saved.value = f'<span class="pe-note">saved {html.escape(str(target))}</span>'
        if target.resolve() == self.model.path.resolve():  # the saved file is now published
            self._fill_rule()
            self._fill_certificate()
            self._refresh()
