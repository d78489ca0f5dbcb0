"""The report reads a run's tables a few replications at a time (report/tables.py), so its
memory does not grow with the replications. The page it makes so must be the page of the
whole tables: every number, every report-*.csv and every figure's data."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from markupsafe import Markup

from postenroll_sim.report import sections
from postenroll_sim.report import tables as T
from postenroll_sim.report.build import open_run, read_run, report_files, write_report
from postenroll_sim.run import outdir
from postenroll_sim.run.runner import concat

from helpers import ROOT

FIRE = ROOT / "scenarios" / "certificates-fire-safety.yaml"  # certificates, overdue, path
ILC = ROOT / "scenarios" / "ilc-capacity-under-recertification.yaml"  # sessions, waits


def _data(fig) -> bytes:
    """What a figure shows, as bytes: every line, bar, area, marker and text, and the
    axes' limits (a figure drawn from other numbers differs)."""
    out = []
    for ax in fig.axes:
        out += [ax.get_title(loc="left"), ax.get_xlim(), ax.get_ylim()]
        out += [line.get_xydata() for line in ax.get_lines()]
        out += [patch.get_verts() for patch in ax.patches]
        for collection in ax.collections:
            out.append(collection.get_offsets())
            out += [path.vertices for path in collection.get_paths()]
            if hasattr(collection, "get_segments"):
                out += collection.get_segments()
        out += [text.get_text() for text in ax.texts]
    out += [text.get_text() for text in fig.texts]
    digest = hashlib.sha256()
    for item in out:
        digest.update(
            np.asarray(item, dtype=float).tobytes() if not isinstance(item, str) else item.encode()
        )
    return digest.hexdigest().encode()


@pytest.fixture
def fingerprinted(monkeypatch):
    """Figures as a fingerprint of their data instead of a PNG (drawing is slow; two
    pages with equal fingerprints show the same figures)."""
    monkeypatch.setattr(sections, "png_uri", lambda fig: Markup("data:," + _data(fig).decode()))


def _files(tables, chunk_rows: int, monkeypatch, **choices) -> dict[str, str]:
    monkeypatch.setattr(T, "CHUNK_ROWS", chunk_rows)
    files = report_files(tables, **choices)
    return {
        name: re.sub(r"made by postenroll-sim on [^;]*;", "", text) for name, text in files.items()
    }


WHOLE = 10**12  # one chunk: every replication's rows at once (the whole tables)


@pytest.mark.parametrize(
    ("scenario", "args", "choices"),
    [
        (FIRE, ["--replications", "3"], {}),
        (ILC, ["--replications", "2", "--format", "csv"], {"learner": "L0000028"}),
        (
            FIRE,
            ["--replications", "2", "--set", "courses.FIRE.certificate.reenroll_before.days=14,60"],
            {"learner": "L0000003"},
        ),
    ],
    ids=["certificates", "ilc-csv", "sweep"],
)
def test_a_page_read_a_replication_at_a_time_is_the_page_of_the_whole_tables(
    cli, tmp_path, monkeypatch, fingerprinted, scenario, args, choices
):
    command = "sweep" if "--set" in args else "run"
    done = cli(command, scenario, "--out", tmp_path, "-q", "--no-progress", *args)
    assert done.returncode == 0, done.stderr
    whole, _ = read_run(tmp_path)  # the tables in memory, as the report read them before
    eager = _files(T.InMemory(whole), WHOLE, monkeypatch, **choices)
    stored, _ = open_run(tmp_path)
    lazy = _files(stored, 0, monkeypatch, **choices)  # a replication a chunk, from the files
    assert lazy.keys() == eager.keys()
    for name in eager:
        assert lazy[name] == eager[name], name
    assert _files(T.InMemory(whole), 0, monkeypatch, **choices) == eager  # split in memory
    if command == "run":
        assert "Compliance:" in eager["report.html"] and "timeline" in eager["report.html"]
    else:
        assert "2 variants" in eager["report.html"] and "Learner L0000003" in eager["report.html"]

    # and the comparison can fail: a page missing one replication's rows differs
    real = T.Stored.chunks

    def all_but_the_last(self, names=None, columns=None, labels=None):
        found = list(real(self, names, columns, labels))
        return found[:-1] if names is None else found

    monkeypatch.setattr(T.Stored, "chunks", all_but_the_last)
    short = _files(open_run(tmp_path)[0], 0, monkeypatch)  # the learner of replication 0
    assert short["report.html"] != _files(T.InMemory(whole), WHOLE, monkeypatch)["report.html"]


def test_write_report_reads_no_table_whole_and_verifies_first(
    cli, tmp_path, monkeypatch, sketched_figures
):
    done = cli("run", FIRE, "--out", tmp_path, "-q", "--replications", "2", "--format", "csv")
    assert done.returncode == 0, done.stderr

    def whole(*args, **kwargs):
        raise AssertionError("a table was read whole")

    with monkeypatch.context() as m:
        m.setattr(outdir, "read_table_file", whole)
        m.setattr(outdir, "read_tables", whole)
        m.setattr(T, "CHUNK_ROWS", 0)
        write_report(tmp_path)
    assert "At a glance" in (tmp_path / "report.html").read_text()
    with open(tmp_path / "jobs.csv", "a") as file:  # changed since the run: refused unread
        file.write("\n")
    with monkeypatch.context() as m:
        m.setattr(outdir, "read_chunks", whole)
        with pytest.raises(outdir.OutputError, match="changed since the run"):
            write_report(tmp_path)


def test_a_folder_whose_rows_are_not_in_run_order_is_read_whole(
    tmp_path, monkeypatch, fingerprinted
):
    from postenroll_sim import load_scenario, simulate_replications

    result = simulate_replications(load_scenario(FIRE), 3)
    for name, frame in result.tables().items():  # replications 2, 1, 0: not as a run writes
        parts = [frame[frame["replication"] == r] for r in (2, 1, 0)]
        setattr(result, name, concat(parts).reset_index(drop=True))
    expected = _files(T.InMemory(result), 0, monkeypatch)  # unsorted in memory: one chunk
    for fmt in ("parquet", "csv"):
        folder = tmp_path / fmt
        result.write(folder, format=fmt)
        stored, _ = open_run(folder)
        with pytest.raises(T.ChunkOrder):
            next(stored.chunks())
        assert _files(stored, 0, monkeypatch) == expected, fmt


@pytest.mark.parametrize("how", ["streamed", "written whole", "csv"])
def test_read_chunks_gives_each_replication_the_rows_of_the_whole_file(cli, tmp_path, how):
    from postenroll_sim import load_scenario, simulate_replications

    if how == "written whole":  # one row group holding every replication
        simulate_replications(load_scenario(ILC), 3).write(tmp_path)
    else:
        fmt = ["--format", "csv"] if how == "csv" else []
        done = cli("run", ILC, "--out", tmp_path, "-q", "--replications", "3", *fmt)
        assert done.returncode == 0, done.stderr
    meta = outdir.read_meta(tmp_path)
    whole = outdir.read_tables(tmp_path, meta)
    items = [item for item in meta["files"] if "table" in item]
    keys = [(None, r) for r in range(3)]
    chunks = list(outdir.read_chunks(tmp_path, items, keys, rows=0))
    assert [positions for positions, _ in chunks] == [[0], [1], [2]]
    for (replication,), frames in chunks:
        for name, frame in frames.items():
            expected = whole[name][whole[name]["replication"] == replication]
            expected = expected.reset_index(drop=True)
            pd.testing.assert_frame_equal(
                frame.astype({"learner_id": "str"}) if "learner_id" in frame else frame,
                expected.astype({"learner_id": "str"}) if "learner_id" in expected else expected,
            )
            for column in frame.select_dtypes("category"):
                if column != "learner_id":  # the vocabularies: the whole file's categories
                    assert list(frame[column].cat.categories) == list(
                        expected[column].cat.categories
                    ), (name, column)
    grown = list(outdir.read_chunks(tmp_path, items, keys, rows=10**9))
    assert [positions for positions, _ in grown] == [[0, 1, 2]]
