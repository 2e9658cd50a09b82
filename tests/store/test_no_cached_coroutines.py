"""Guard: cachetools' ``cached`` and ``cachedmethod`` never wrap a coroutine function in app/.

Those decorators cache the coroutine object, so the second await of a cached call raises
``RuntimeError: cannot reuse already awaited coroutine``. Async code caches through the store.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

from cachetools import TTLCache, cached, cachedmethod

APP_DIR = Path(__file__).resolve().parents[2] / "app"
CACHETOOLS_DECORATORS = {"cached", "cachedmethod"}


def wraps_coroutine_with_cachetools(candidate: Any) -> bool:
    """Whether ``candidate`` is a cachetools wrapper, maybe decorated again, of an async def."""
    through_cachetools = False
    current = candidate
    for _ in range(20):
        if type(current).__module__.startswith("cachetools"):
            through_cachetools = True
        wrapped = getattr(current, "__wrapped__", None)
        if wrapped is None:
            break
        current = wrapped
    return through_cachetools and inspect.iscoroutinefunction(current)


def members(module: ModuleType) -> list[tuple[str, Any]]:
    """List the module's own functions and the attributes of its own classes."""
    found: list[tuple[str, Any]] = []
    for name, value in vars(module).items():
        found.append((f"{module.__name__}.{name}", value))
        if inspect.isclass(value) and value.__module__ == module.__name__:
            for attribute in vars(value):
                try:
                    bound = getattr(value, attribute)
                except Exception:  # noqa: S112 - a descriptor that fails on the class is no cache
                    continue
                found.append((f"{module.__name__}.{name}.{attribute}", bound))
    return found


def cachetools_decorated_coroutines(source: str) -> list[str]:
    """Return the names of ``async def`` functions in ``source`` decorated by cachetools."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name in CACHETOOLS_DECORATORS:
                names.append(node.name)
    return names


def test_detector_flags_cached_coroutine_function() -> None:
    @cached(TTLCache(maxsize=1, ttl=60))
    async def fetch_monitors() -> int:
        return 1

    class Client:
        def __init__(self) -> None:
            self.cache: TTLCache[Any, Any] = TTLCache(maxsize=1, ttl=60)

        @cachedmethod(lambda self: self.cache)
        async def fetch_issues(self) -> int:
            return 1

    @cached(TTLCache(maxsize=1, ttl=60))
    def plain() -> int:
        return 1

    assert wraps_coroutine_with_cachetools(fetch_monitors) is True
    assert wraps_coroutine_with_cachetools(Client.fetch_issues) is True
    assert wraps_coroutine_with_cachetools(Client().fetch_issues) is True
    assert wraps_coroutine_with_cachetools(plain) is False


def test_source_scan_flags_decorated_async_def() -> None:
    source = (
        "import cachetools\n"
        "@cachetools.cached(cache)\n"
        "async def fetch_monitors(): ...\n"
        "@cached(cache)\n"
        "def plain(): ...\n"
    )

    assert cachetools_decorated_coroutines(source) == ["fetch_monitors"]


def test_no_cachetools_cached_coroutine_in_app() -> None:
    offenders: list[str] = []
    for info in pkgutil.walk_packages([str(APP_DIR)], prefix="app."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # noqa: S112 - the source scan below still covers a module that fails
            continue
        for name, value in members(module):
            if wraps_coroutine_with_cachetools(value):
                offenders.append(name)

    assert offenders == []


def test_no_cachetools_decorator_on_async_def_in_source() -> None:
    offenders = [
        f"{path.relative_to(APP_DIR.parent)}:{name}"
        for path in sorted(APP_DIR.rglob("*.py"))
        for name in cachetools_decorated_coroutines(path.read_text(encoding="utf-8"))
    ]

    assert offenders == []
