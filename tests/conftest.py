import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden .paddle.py files from the current converter output")


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")
