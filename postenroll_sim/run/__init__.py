"""Running scenarios: replications on an executor (runner.py), their random streams and the
plain-column runs a check matches on (lightrun.py), the output folder (outdir.py), the
summary printed on screen (summary.py) and a long run's status line (progress.py)."""
