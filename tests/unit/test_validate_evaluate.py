"""`make evaluate`'s parts that need no model: the drafts grid and the report's building blocks."""
from __future__ import annotations

from collections import namedtuple

from assist.builders.coverage import markdown, run_grid, tone_gaps
from assist.shop.templates import load_templates
from kefu_rasa.dev.report import confusion, confusion_png, confusion_text, write_html

Example = namedtuple("Example", "text intent")
Prediction = namedtuple("Prediction", "example top")


def test_the_drafts_grid_finds_no_etiquette_problem():
    report = run_grid(concerns=["delivery_delay", "complaint", "request_human"], flags=("none", "threat", "beyond_policy"),
                      facts=("nothing", "full order"))
    assert report.situations == 3 * 8 * 3 * 2 * 2
    assert sum(report.findings.values()) == 0 and not report.too_few
    assert report.length_summary()["max"] <= 150
    text = markdown(report)
    assert "| etiquette findings in drafts | **0** | 0 |" in text and "| concern | reasoning |" in text


def test_coverage_names_the_stages_without_a_variant_for_the_tone():
    gaps, missing = tone_gaps(load_templates())
    assert not missing
    assert all(stages for stages in gaps.values())
    assert "follow_up" in gaps.get(("delivery_delay", "reasoning"), [])  # no 'warm' follow-up variant is written


def test_confusion_matrix_as_text_and_png(tmp_path):
    predictions = [Prediction(Example("a", "complaint"), "complaint"), Prediction(Example("b", "complaint"), "refund_return"),
                   Prediction(Example("c", "refund_return"), "refund_return")]
    labels, matrix = confusion(predictions)
    assert labels == ["complaint", "refund_return"] and matrix == [[1, 1], [0, 1]]
    text = confusion_text(labels, matrix)
    assert text.splitlines()[1].split()[1:] == ["1", "1"]
    confusion_png(labels, matrix, "test", tmp_path / "m.png")
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    write_html("# title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![m](m.png)\n", tmp_path / "index.html")
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<table>" in html and '<img alt="m" src="m.png"' in html
