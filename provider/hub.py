"""StackQL's remote provider registry: what it lists, and pulling one provider version from it.

A registry at URL ``U`` serves ``U/dist/providers.yaml`` (``providers: {<name>:
{versions: [v0.1.0, ...]}}``) and ``U/dist/<provider>/<version>.tgz``, a tar.gz
whose members all sit under ``<version>/``: ``<version>/provider.yaml``, its
``<version>/services/*.yaml``, and a ``.sig`` file beside each document.

A pull lands in ``<pulled root>/src/<provider>/<version>/``, where
``cfql.provider.registry`` finds it. It is built in a dot-folder beside that
(which the registry skips) and moved in by renames, so at every moment the
previous copy of that version, if any, is either in place or set aside in the
dot-folder; the next pull puts a set-aside copy back before anything else.

What a pull checks: the answer came over the URL's own scheme (an https
registry is never left for http by a redirect), sizes stay within the limits
below, every member is a plain file or folder under ``<version>/`` (no absolute
path, no ``..``, no link or device), nothing appears twice, and
``<version>/provider.yaml`` is there and is a YAML mapping. What it does NOT
check: the ``.sig`` signatures. cfql has no cryptography dependency and does
not know StackQL's signing key, so the ``.sig`` files are unpacked like any
other file and never read; a pull's ``signature`` column says "not verified".
Trust in what is pulled is trust in the registry's TLS certificate (httpx
verifies it) and nothing more. The archive's SHA-256 is reported, to compare
with another copy.

Nothing here sends a credential: the client is our own, carries only a
User-Agent, and is never the connection's (which holds provider credentials).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import typing as t
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx
from cfql.errors import InterfaceError, OperationalError, ProgrammingError
from cfql.provider.registry import version_key

MB = 1 << 20
MAX_INDEX_BYTES = 10 * MB  # providers.yaml: the real one is under 1 KB
MAX_ARCHIVE_BYTES = 200 * MB  # the largest published archive is a few MB
MAX_UNPACKED_BYTES = 2048 * MB  # the largest provider unpacked is under 100 MB
MAX_MEMBERS = 100_000
TIMEOUT = 60.0  # seconds per network operation (connect, each read), not per download
SIGNATURE = "not verified"

#: A provider folder name (``okta``, ``googleapis.com``, ``azure_extras``): one safe path segment.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
#: A version as StackQL writes them: ``v0.1.0``, ``v24.03.00206``, ``v00.00.00000``.
_VERSION = re.compile(r"v\d+(\.\d+)*\Z")
_PULLING = ".cfql-pull-"  # prefix of the dot-folder a pull works in
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Pulled:
    """What a pull installed: where, and the archive's SHA-256 (the signature is not verified)."""

    provider: str
    version: str
    path: Path
    sha256: str


# -- names and addresses -------------------------------------------------------------------


def check_url(url: object) -> str:
    """The registry URL without its trailing slash; one line naming the problem if it is not usable.

    A user name or password in it is refused: cfql sends no credential to a
    registry, and would have to keep one out of every message.
    """
    if not isinstance(url, str) or not url.strip():
        raise InterfaceError("registry URL must be an http:// or https:// URL")
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as error:
        raise InterfaceError(f"registry URL is not a URL ({error})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InterfaceError(f"registry URL must be http:// or https:// with a host, not {url.strip()!r}")
    if parsed.userinfo:
        raise InterfaceError("registry URL must not hold a user name or password: cfql sends no credential to a registry")
    if parsed.query or parsed.fragment:
        raise InterfaceError("registry URL must not have a query (?...) or fragment (#...)")
    return str(parsed).rstrip("/")


def check_provider(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise ProgrammingError(f"{name!r} is not a provider name (letters, digits, '.', '_', '-')")
    return name


def check_version(version: object) -> str:
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ProgrammingError(f"{version!r} is not a provider version (vN.N.N, e.g. v0.1.0 or v24.03.00206)")
    return version


def index_url(url: str) -> str:
    return f"{check_url(url)}/dist/providers.yaml"


def archive_url(url: str, provider: str, version: str) -> str:
    return f"{check_url(url)}/dist/{provider}/{version}.tgz"


def latest(versions: t.Iterable[str]) -> str:
    """The newest version, by its numbers (``v0.1.10`` after ``v0.1.9``)."""
    return max(versions, key=version_key)


# -- HTTP ----------------------------------------------------------------------------------


def headers() -> dict[str, str]:
    """Everything cfql itself puts on a registry request (what a dry run shows)."""
    from cfql.http.core import USER_AGENT

    return {"User-Agent": USER_AGENT}


def _client(start: str, timeout: float, transport: httpx.BaseTransport | None) -> httpx.Client:
    """A client of our own, for one registry operation: no credentials, redirects only within the scheme.

    A redirect from https to http is refused before it is sent: what came
    over http could have been changed on the way.
    """
    scheme = httpx.URL(start).scheme

    def same_scheme(request: httpx.Request) -> None:
        if scheme == "https" and request.url.scheme != "https":
            raise _Downgrade(f"{request.url.scheme}://{request.url.host}{request.url.path}")  # never a password or query

    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=5,
        headers=headers(),
        transport=transport,
        event_hooks={"request": [same_scheme]},
    )


class _Downgrade(Exception):
    """An https registry redirected to plain http."""


def _fetch(url: str, limit: int, sink: t.IO[bytes], timeout: float, transport: httpx.BaseTransport | None) -> str:
    """GET ``url`` into ``sink``, at most ``limit`` bytes; its SHA-256. Errors are one line naming the URL."""
    digest = hashlib.sha256()
    size = 0
    try:
        with _client(url, timeout, transport) as client, client.stream("GET", url) as response:
            if response.status_code == 404:
                raise OperationalError(f"registry: {url} not found (HTTP 404)")
            if not response.is_success:
                raise OperationalError(f"registry: GET {url} answered HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise OperationalError(f"registry: {url} is {int(declared) / MB:.0f} MB, over the {limit / MB:g} MB cfql accepts")
            for chunk in response.iter_bytes():  # decoded: a gzip Content-Encoding counts as what it unpacks to
                size += len(chunk)
                if size > limit:
                    raise OperationalError(f"registry: {url} is over the {limit / MB:g} MB cfql accepts; stopped reading it")
                digest.update(chunk)
                try:
                    sink.write(chunk)
                except OSError as error:
                    raise OperationalError(f"cannot save {url}: {error.strerror or error}") from None
    except _Downgrade as error:
        raise OperationalError(f"registry: {url} redirects to {error}, plain http; not following it") from None
    except httpx.TooManyRedirects:
        raise OperationalError(f"registry: {url} redirects too many times") from None
    except httpx.TimeoutException:
        raise OperationalError(f"registry: no answer from {url} within {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise OperationalError(f"registry: cannot fetch {url} ({type(error).__name__}: {str(error) or 'no detail'})") from None
    return digest.hexdigest()


# -- listing -------------------------------------------------------------------------------


def list_providers(
    url: str, *, timeout: float = TIMEOUT, transport: httpx.BaseTransport | None = None
) -> dict[str, list[str]]:
    """Every provider the registry offers, with its versions oldest first."""
    source = index_url(url)
    sink = io.BytesIO()
    _fetch(source, MAX_INDEX_BYTES, sink, timeout, transport)
    return parse_index(sink.getvalue(), source)


def parse_index(data: bytes, source: str) -> dict[str, list[str]]:
    """``providers.yaml`` checked for its shape; a document of another shape is one line saying what is wrong."""
    import yaml

    def bad(problem: str) -> OperationalError:
        return OperationalError(f"registry: {source} is not a provider list: {problem}")

    try:
        document = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise bad(f"not valid YAML{where}") from None
    except RecursionError:
        raise bad("nested too deeply") from None
    providers = document.get("providers") if isinstance(document, dict) else None
    if not isinstance(providers, dict):
        raise bad("it has no 'providers:' mapping")
    found: dict[str, list[str]] = {}
    for name, entry in providers.items():
        if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
            raise bad(f"{name!r} is not a provider name")
        versions = entry.get("versions") if isinstance(entry, dict) else None
        if not isinstance(versions, list) or not versions:
            raise bad(f"provider {name} has no 'versions:' list")
        for version in versions:
            if not isinstance(version, str) or not _VERSION.match(version):
                raise bad(f"provider {name}: {version!r} is not a version (vN.N.N)")
        found[name] = sorted(set(versions), key=version_key)
    return dict(sorted(found.items()))


def versions_of(index: t.Mapping[str, list[str]], provider: str, url: str) -> list[str]:
    """The provider's versions, or one line saying the registry has no such provider."""
    from cfql.plan.schema import did_you_mean

    versions = index.get(provider)
    if versions is None:
        raise ProgrammingError(f"registry {check_url(url)} has no provider {provider}{did_you_mean(provider, index)}")
    return versions


# -- pulling -------------------------------------------------------------------------------


def pull(
    url: str,
    provider: str,
    version: str | None = None,
    *,
    into: Path,
    timeout: float = TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> Pulled:
    """Download ``provider`` (its latest version unless one is named) and install it under ``into/src``.

    Any failure — an HTTP error, a dropped connection, an archive that fails
    a check, Ctrl-C — leaves the previous copy of that version as it was and
    nothing of the failed attempt behind.
    """
    check_provider(provider)
    if version is not None:
        check_version(version)
    versions = versions_of(list_providers(url, timeout=timeout, transport=transport), provider, url)
    if version is None:
        version = latest(versions)
    elif version not in versions:
        raise ProgrammingError(f"registry {check_url(url)}: provider {provider} has no version {version} (it has {', '.join(versions)})")
    source = archive_url(url, provider, version)
    folder = Path(into) / "src" / provider
    with _locked(Path(into)):
        _recover(Path(into) / "src")
        created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=_PULLING, dir=folder))
        except OSError as error:
            raise OperationalError(f"cannot create {folder}: {error.strerror or error}") from None
        try:
            archive = work / "archive.tgz"
            with open(archive, "wb") as sink:
                sha256 = _fetch(source, MAX_ARCHIVE_BYTES, sink, timeout, transport)
            unpacked = work / "new"
            unpack(archive, version, unpacked, source)
            _install(unpacked / version, folder / version, work / "previous")
        finally:
            _discard(work)
            if created:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if the failed pull left it empty
    return Pulled(provider, version, folder / version, sha256)


def _install(new: Path, target: Path, aside: Path) -> None:
    """Move ``new`` to ``target``; a copy already there is set aside first and deleted after.

    Between the two renames the old copy is at ``aside/<version>``, inside
    the pull's dot-folder: ``_discard`` (on any failure) or ``_recover`` (on
    the next pull, after a crash) puts it back if ``target`` is still missing.
    """
    try:
        if target.exists():
            aside.mkdir()
            os.replace(target, aside / target.name)
        os.replace(new, target)
    except OSError as error:
        raise OperationalError(f"cannot install {target}: {error.strerror or error}") from None


def _discard(work: Path) -> None:
    """Remove a pull's dot-folder, after putting back a copy it had set aside and not replaced.

    If that copy cannot be put back, the folder stays, for the next pull to try again.
    """
    aside = work / "previous"
    for kept in aside.iterdir() if aside.is_dir() else ():
        target = work.parent / kept.name
        if not target.exists():
            try:
                os.replace(kept, target)
            except OSError:
                return
    shutil.rmtree(work, ignore_errors=True)


def _recover(src: Path) -> None:
    """Clean up after pulls that were killed: their dot-folders go, set-aside copies go back first."""
    for work in src.glob(f"*/{_PULLING}*"):
        if work.is_dir() and not work.is_symlink():
            _discard(work)


@contextlib.contextmanager
def _locked(root: Path) -> t.Iterator[None]:
    """One pull at a time per pulled root, so a pull never clears another's dot-folder as stale.

    Uses ``flock`` where there is one (not on Windows, where concurrent pulls are not guarded).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = open(root / ".pull.lock", "a+b")
    except OSError as error:
        raise OperationalError(f"cannot use {root}: {error.strerror or error}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- unpacking -----------------------------------------------------------------------------


def unpack(archive: Path, version: str, into: Path, source: str) -> None:
    """Unpack ``archive`` into ``into`` (so its documents land in ``into/<version>``), checking every member.

    cfql writes each file itself rather than calling ``extractall``: only
    plain files and folders are ever created, with default permissions, so no
    member can point outside ``into`` or carry an owner, mode or link.
    """

    def bad(problem: str) -> OperationalError:
        return OperationalError(f"registry: {source} is refused: {problem}")

    into.mkdir()
    seen: set[str] = set()
    total = 0
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for member in tar:
                if len(seen) >= MAX_MEMBERS:
                    raise bad(f"more than {MAX_MEMBERS} members")
                parts = _member_parts(member.name, version, bad)
                name = "/".join(parts)
                if name in seen:
                    raise bad(f"{name} appears twice")
                seen.add(name)
                path = into.joinpath(*parts)
                if member.isdir():
                    _write(lambda: path.mkdir(parents=True, exist_ok=True), path)
                elif member.isreg():
                    total += member.size
                    if total > MAX_UNPACKED_BYTES:
                        raise bad(f"it unpacks to over {MAX_UNPACKED_BYTES / MB:g} MB")
                    _copy(tar, member, path)
                else:
                    raise bad(f"{member.name} is {_kind(member)}; only files and folders are allowed")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:  # every write went through _write
        raise bad(f"not a readable tar.gz ({type(error).__name__}: {error})") from None
    document = into / version / "provider.yaml"
    if f"{version}/provider.yaml" not in seen or not document.is_file():
        raise bad(f"it has no {version}/provider.yaml")
    _check_document(document, bad)


def _member_parts(name: str, version: str, bad: t.Callable[[str], Exception]) -> list[str]:
    """A member's path as segments, refused unless it is relative, plain and under ``<version>/``."""
    if not name or name.startswith("/") or "\\" in name or ":" in name or any(ord(c) < 32 for c in name):
        raise bad(f"{name!r} is not a plain relative path")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise bad(f"{name!r} is not a plain relative path")
    if parts[0] != version:
        raise bad(f"{name!r} is outside {version}/")
    return parts


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"a hard link (to {member.linkname!r})"
    if member.isdev():
        return "a device or pipe"
    return f"of tar type {member.type!r}"


def _copy(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> None:
    """One member's bytes into a new file (``x``: nothing already there is overwritten)."""
    _write(lambda: path.parent.mkdir(parents=True, exist_ok=True), path.parent)
    source = tar.extractfile(member)
    assert source is not None  # a regular member always has a file object
    with _write(lambda: open(path, "xb"), path) as out:
        while chunk := source.read(_CHUNK):  # a read error is the archive's: unpack reports it
            _write(lambda: out.write(chunk), path)


def _write(action: t.Callable[[], t.Any], path: Path) -> t.Any:
    try:
        return action()
    except OSError as error:
        raise OperationalError(f"cannot write {path}: {error.strerror or error}") from None


def _check_document(document: Path, bad: t.Callable[[str], Exception]) -> None:
    """provider.yaml must at least be a YAML mapping; the loader checks the rest when it is used."""
    import yaml

    from cfql.provider.loader import yaml_load

    try:
        with open(document, "rb") as fh:
            loaded = yaml_load(fh)
    except (ValueError, RecursionError, yaml.YAMLError):
        loaded = None
    if not isinstance(loaded, dict):
        raise bad(f"{document.parent.name}/provider.yaml is not a YAML mapping")
