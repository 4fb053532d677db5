"""The tests named for the PostgreSQL run exist, so a renamed test cannot drop out of it unnoticed."""

from __future__ import annotations

import importlib
import inspect

from tests.conftest import ON_POSTGRESQL_TOO


def test_every_test_named_for_the_postgresql_run_exists_and_uses_label_studio():
    missing = []
    for module_name, names in ON_POSTGRESQL_TOO.items():
        module = importlib.import_module(f"tests.{module_name}")
        tests = {name: obj for name, obj in vars(module).items() if name.startswith("test_") and callable(obj)}
        assert tests, f"tests/{module_name}.py has no test"
        for name in names or tests:
            test = tests.get(name)
            if test is None:
                missing.append(f"{module_name}::{name}")
            elif name in names:
                fixtures = set(inspect.signature(test).parameters)
                assert fixtures & {"label_studio", "own_label_studio", "workspace", "own_workspace"}, name
    assert not missing, f"named in tests/conftest.py ON_POSTGRESQL_TOO but not found: {missing}"
