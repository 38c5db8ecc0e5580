"""Root conftest: registers the fixture factories of each test folder."""

pytest_plugins = ["tests.fixtures", "tests.batch.fixtures", "tests.dashboard.fixtures"]
