"""bench.spread: the median and range of each kept row over several runs, ratios kept apart from costs."""

from __future__ import annotations

from bench.spread import summarise

RUNS = [
    ["| events applied by one worker | 100.0 events/s | plain worker | 1,000.0 events/s | 0.10x |",
     "| whole personalised message (render) | 1,000.0 us | warm node mjml | 14,000.0 us | 14.00x faster |",
     "| email render per recipient (cached compile, Jinja only) | 9.0 us | x | 1.0 us | 9.00x |"],
    ["| events applied by one worker | 300.0 events/s | plain worker | 1,200.0 events/s | 0.25x |",
     "| whole personalised message (render) | 1,200.0 us | warm node mjml | 12,000.0 us | 10.00x faster |"],
    ["| events applied by one worker | 200.0 events/s | plain worker | 1,100.0 events/s | 0.18x |"],
]


def test_each_kept_row_gets_its_median_and_range_and_others_are_left_out() -> None:
    lines = summarise({"embedded: ingest": RUNS})
    applied = next(line for line in lines if "events applied" in line)
    assert "(3 runs)" in applied
    assert "200.00 (100.00-300.00) events/s" in applied
    assert "1,100.00 (1,000.00-1,200.00) events/s" in applied
    assert applied.endswith("| 0.18x (0.10-0.25) |")
    message = next(line for line in lines if "whole personalised" in line)
    assert "(2 runs)" in message and message.endswith("| 12.00x faster (10.00-14.00) |")
    assert not any("email render per recipient" in line for line in lines)
