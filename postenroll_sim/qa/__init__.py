"""The QA tools: which files are scenario tests (discovery.py), their expectations
(expect.py), `check` (checking.py), the pytest plugin (pytest_plugin.py) and the audit of
an LMS history against the rules (audit/)."""
