"""The research queries from the CLI: history, show, diff, changes, stats, timeline (both backends)."""

from __future__ import annotations

import csv
import io
import json

from policytrack.commands.queries import JSON_FIELDS, render_table
from storage.stats import count_syllables, readability
from tests.test_queries_fixtures import (  # noqa: F401  (database is a fixture)
    V2015,
    V2019,
    Snap,
    cli,
    database,
    example_database,
    record,
)


# --- history -------------------------------------------------------------------------------------------


def test_history_json_has_the_documented_fields_and_a_change_summary_per_version(database):
    example_database(database)
    result = cli(database, "history", "example.com", "--json")
    assert result.code == 0, result.err
    versions = json.loads(result.out)
    assert [set(v) for v in versions] == [set(JSON_FIELDS["history"])] * 4
    assert [v["first_seen"] for v in versions] == ["20100301120000", "20150615080000", "20190110100000",
                                                   "20210201090000"]
    first, second = versions[0], versions[1]
    assert first["last_seen"] == "20120101000000" and first["capture_count"] == 2
    assert first["change_id"] is None and first["words_delta"] is None and first["extraction"] == "readability"
    assert second["change_id"] is not None and second["technical"] is False
    assert second["words_delta"] == second["words"] - first["words"] > 0
    assert second["chars_delta"] == second["chars"] - first["chars"]
    assert (second["lines_added"], second["lines_removed"]) == (3, 1)


def test_history_since_until_keeps_the_versions_in_force_during_the_period(database):
    example_database(database)
    ids = lambda *a: [v["first_seen"][:4] for v in json.loads(cli(database, "history", "example.com", "--json", *a).out)]  # noqa: E731
    assert ids("--since", "2016-01-01") == ["2015", "2019", "2021"]  # 2015's was still in force in 2016
    # A date is the whole day: on 2015-06-15 the 2010 text was in force until 08:00.
    assert ids("--since", "2015-06-15") == ["2010", "2015", "2019", "2021"]
    assert ids("--since", "20150615080000") == ["2015", "2019", "2021"]
    assert ids("--until", "2015-06-15") == ["2010", "2015"]
    assert ids("--since", "2011-01-01", "--until", "2014-12-31") == ["2010"]
    assert ids("--since", "2022-01-01") == ["2021"]


def test_history_table_and_csv(database):
    example_database(database)
    table = cli(database, "history", "example.com").out
    assert table.splitlines()[0] == "example.com: 4 version(s)"
    assert "first version" in table and "+3/-1 lines, +" in table
    rows = list(csv.DictReader(io.StringIO(cli(database, "history", "example.com", "--format", "csv").out)))
    assert len(rows) == 4 and list(rows[0]) == list(JSON_FIELDS["history"])
    lines = cli(database, "history", "example.com", "--format", "jsonl").out.splitlines()
    assert [json.loads(line)["first_seen"][:4] for line in lines] == ["2010", "2015", "2019", "2021"]


def test_unknown_site_is_a_one_line_error(database):
    result = cli(database, "history", "nope.example")
    assert result.code == 1 and result.out == ""
    assert result.err.strip() == "policytrack: error: unknown site 'nope.example': add it first with 'policytrack add nope.example URL'"


# --- show and diff ---------------------------------------------------------------------------------------


def test_show_at_a_date_and_by_version_id(database):
    example_database(database)
    at = cli(database, "show", "example.com", "--at", "2016-01-01", "--json")
    doc = json.loads(at.out)
    assert set(doc) == set(JSON_FIELDS["show"])
    assert doc["first_seen"] == "20150615080000"
    # Rendered for its first capture: the sentinel became that capture's timestamp.
    assert "https://web.archive.org/web/20150615080000id_/https://example.com/cookies" in doc["body"]
    by_id = cli(database, "show", "example.com", "--version", str(doc["id"]))
    assert by_id.out == doc["document"] + ("" if doc["document"].endswith("\n") else "\n")
    assert by_id.out.startswith("> *The following text is extracted and transformed from the example.com privacy policy")


def test_show_refuses_a_version_of_another_site_and_conflicting_options(database):
    example_database(database)
    other = json.loads(cli(database, "history", "other.org", "--json").out)[0]["id"]
    result = cli(database, "show", "example.com", "--version", str(other))
    assert result.code == 1 and f"version {other} belongs to other.org, not example.com" in result.err
    assert "not both" in cli(database, "show", "example.com", "--version", "1", "--at", "2020-01-01").err
    early = cli(database, "show", "example.com", "--at", "2005-01-01")
    assert early.code == 1 and "on or before 2005-01-01" in early.err


def test_diff_by_lines_and_by_words(database):
    example_database(database)
    lines = cli(database, "diff", "example.com", "--from", "2016-01-01", "--to", "2019-12-31")
    assert lines.code == 0
    assert "-We do not sell, rent or trade your personal information.\n" in lines.out
    assert "+Under the GDPR you may ask us for a copy of your data.\n" in lines.out
    words = cli(database, "diff", "example.com", "--from", "2016-01-01", "--to", "2019-12-31", "--word")
    # Words are aligned on their text: "you." is not "you", so the whole tail is replaced.
    assert "\nWe use cookies to remember [-you. See [our cookie page](https://web.archive.org/web/20150615080000id_/" in words.out
    assert "{+you and to measure our audience.+}\n" in words.out
    assert "[-We do not sell, rent or trade -]{+Under the GDPR you may ask us for a copy of +}your [-personal" in words.out
    data = json.loads(cli(database, "diff", "example.com", "--from", "2016-01-01", "--word", "--json").out)
    assert set(data) == set(JSON_FIELDS["diff"])
    assert data["from"]["first_seen"] == "20150615080000" and data["to"]["first_seen"] == "20210201090000"
    ops = [op for hunk in data["hunks"] for op in hunk["ops"]]
    assert {"op": "insert", "text": "Under the GDPR you may ask us for a copy of "} in ops
    assert {"op": "equal", "text": "your "} in ops
    assert data["words_added"] > 0 and data["words_removed"] > 0
    assert all(h["from_line"] >= 1 and h["to_line"] >= 1 for h in data["hunks"])


def test_diff_by_version_ids_and_of_a_version_with_itself(database):
    example_database(database)
    ids = [v["id"] for v in json.loads(cli(database, "history", "example.com", "--json").out)]
    data = json.loads(cli(database, "diff", "example.com", "--from", f"v{ids[0]}", "--to", f"v{ids[1]}", "--json").out)
    assert (data["from"]["id"], data["to"]["id"]) == (ids[0], ids[1])
    assert (data["lines_added"], data["lines_removed"]) == (3, 1)  # as the stored change says
    same = cli(database, "diff", "example.com", "--from", f"v{ids[2]}", "--to", f"v{ids[2]}", "--word")
    assert same.out.startswith("no difference between version")


# --- changes ---------------------------------------------------------------------------------------------


def test_changes_lists_every_site_newest_first_within_the_period(database):
    example_database(database)
    record(database, "late.net", [Snap("20180101000000", "a\n"), Snap("20190601000000", "b\n", normalizer_version="2")])
    result = json.loads(cli(database, "changes", "--since", "2019-01-01", "--json").out)
    assert [set(c) for c in result] == [set(JSON_FIELDS["changes"])] * 4
    assert [(c["site"], c["after_timestamp"][:8]) for c in result] == [
        ("example.com", "20210201"), ("other.org", "20200101"), ("late.net", "20190601"), ("example.com", "20190110")]
    assert [c["technical"] for c in result] == [False, False, True, False]
    gdpr = result[-1]
    assert gdpr["before_timestamp"] == "20150615080000" and gdpr["words_after"] - gdpr["words_before"] == (
        len(V2019.split()) - len(V2015.split()))
    assert len(json.loads(cli(database, "changes", "--since", "2019-01-01", "--no-technical", "--json").out)) == 3
    only = json.loads(cli(database, "changes", "--site", "other.org", "--json").out)
    assert [c["site"] for c in only] == ["other.org"]
    assert len(json.loads(cli(database, "changes", "--until", "2019-01-10", "--json").out)) == 2
    assert json.loads(cli(database, "changes", "--limit", "1", "--json").out)[0]["after_timestamp"] == "20210201090000"
    assert "no changes in that period" in cli(database, "changes", "--since", "2030-01-01").out
    assert cli(database, "changes", "--site", "nope.example").code == 1


# --- stats ---------------------------------------------------------------------------------------------


def test_syllable_heuristic_on_common_policy_words():
    expected = {"privacy": 3, "information": 4, "table": 2, "the": 1, "cookies": 2, "services": 3, "pages": 2,
                "used": 1, "shared": 1, "collected": 3, "people": 2, "personal": 3, "parties": 2, "2018": 1}
    assert {w: count_syllables(w) for w in expected} == expected


def test_flesch_kincaid_follows_the_formula_on_the_prose_of_the_markdown():
    text = ("# Privacy\n\nWe collect data. We share it with [our partners](https://example.com/a/very/long/url).\n\n"
            "  * cookies\n  * logs\n")
    r = readability(text)
    # Blocks: "Privacy" | "We collect data. We share it with our partners." | "cookies" | "logs"
    assert (r.words, r.sentences) == (12, 5)
    syllables = sum(map(count_syllables, "Privacy We collect data We share it with our partners cookies logs".split()))
    assert r.syllables == syllables
    assert r.grade == round(0.39 * 12 / 5 + 11.8 * syllables / 12 - 15.59, 2)
    assert readability("![](x.png)\n\n---\n").grade is None


def test_stats_per_version_over_time_and_for_all_sites(database):
    example_database(database)
    rows = json.loads(cli(database, "stats", "example.com", "--json").out)
    assert [set(r) for r in rows] == [set(JSON_FIELDS["stats"])] * 4
    assert [r["first_seen"][:4] for r in rows] == ["2010", "2015", "2019", "2021"]
    assert rows[1]["words"] == readability(V2015).words and rows[1]["grade"] == readability(V2015).grade
    assert rows[1]["chars"] == len(V2015)
    everything = json.loads(cli(database, "stats", "--all", "--json").out)
    assert [r["site"] for r in everything] == ["example.com"] * 4 + ["other.org"] * 2
    assert cli(database, "stats").code == 1 and cli(database, "stats", "example.com", "--all").code == 1
    assert "FK GRADE" in cli(database, "stats", "example.com").out


# --- timeline --------------------------------------------------------------------------------------------


def test_timeline_draws_svg_and_png(database, tmp_path):
    example_database(database)
    svg, png = tmp_path / "t.svg", tmp_path / "t.png"
    assert cli(database, "timeline", "example.com", "--plot", str(svg)).code == 0
    assert cli(database, "timeline", "example.com", "--plot", str(png)).code == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "example.com" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The same history draws the same SVG (no creation date inside).
    again = tmp_path / "again.svg"
    cli(database, "timeline", "example.com", "--plot", str(again))
    assert again.read_text() == text
    bad = cli(database, "timeline", "example.com", "--plot", str(tmp_path / "t.gif"))
    assert bad.code == 1 and ".svg or .png" in bad.err
    assert cli(database, "timeline", "example.com", "--plot", str(tmp_path / "missing" / "t.svg")).code == 1


def test_timeline_as_text_bars(database):
    example_database(database)
    lines = cli(database, "timeline", "example.com").out.splitlines()
    assert lines[0] == "example.com: words per version" and len(lines) == 5
    assert lines[1].startswith("2010-03-01 ") and lines[1].endswith(" 24")
    assert max(line.count("#") for line in lines[1:]) == 40  # the longest version fills the width


# --- output helper ------------------------------------------------------------------------------------


def test_table_renderer_aligns_numbers_right():
    table = render_table([{"a": "x", "n": 5}, {"a": "longer", "n": 12345}], [("A", lambda r: r["a"]), ("N", lambda r: r["n"])])
    assert table.splitlines() == ["A            N", "x            5", "longer  12,345"]

