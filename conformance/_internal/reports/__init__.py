"""Renderers of the redacted report: JUnit XML, HTML matrix, Markdown summary, badge."""
