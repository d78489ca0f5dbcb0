"""The designer's tools: the rule graph model and its text, Mermaid and DOT forms
(rulegraph.py), its drawing (drawing.py), lint (lint.py), explain (explain.py) and the
what-if comparison of two rule sets (whatif.py)."""
