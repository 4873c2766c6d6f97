"""The console: journeys as diagrams with live counts, in a browser (served under /console)."""
