"""Tests of the project as a whole: imports, layers, citations, licences, the demo fixture, fuzz regressions."""
