"""Helpers for the in-process CLI tests (imported by the test modules beside this file)."""

from __future__ import annotations

import json

from embedlayer.cli.main import main


def run_json(capsys, *argv: str) -> dict:
    """Run ``embedlayer ARGV --json``, expect exit 0, return the JSON it printed."""
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def fails(capsys, *argv: str) -> str:
    """Run, expect exit 2 and exactly one line on stderr; return it."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("embedlayer: error: "), err
    return lines[0]
