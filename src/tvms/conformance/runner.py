"""`tvms conformance URL`: replay the vectors and the OpenRPC examples against a live server.

Every response is checked against the JSON-RPC 2.0 response schema and the service's error
contract before its codes and ids are compared with the vector's expectation. Then each
OpenRPC method's `examples` (pairings of params and result) are called and compared.

By default only queries run: the check reads and leaves the server's data and sessions exactly
as they were, so it is safe against production. Examples of mutations (which create, delete,
log out) run only with `--write`, against a server the command starts itself (no URL given) or
one the user names as disposable (`--disposable`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import msgspec

from tvms.conformance.examples import compare
from tvms.conformance.schema import data_problems, response_problems
from tvms.conformance.vectors import VECTORS, Reply, Vector, encode, request

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class Result:
    """One check: a vector or an OpenRPC example, passed or not, and why."""

    kind: str  # "vector" | "example" | "openrpc"
    name: str
    passed: bool
    detail: str = ""
    skipped: bool = False


def _describe(reply: Reply) -> str:
    return f"id={reply.id!r} " + ("result" if reply.code is None else f"error {reply.code}")


def _same_id(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # `1 == True` in Python; JSON keeps them apart
        return False
    if isinstance(a, int | float):
        return isinstance(b, int | float) and a == b
    return type(a) is type(b) and a == b


def _reply_problems(reply: Reply, response: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not _same_id(reply.id, response.get("id")):
        problems.append(f"id {response.get('id')!r}, expected {reply.id!r}")
    if reply.code is None:
        if "error" in response:
            error = response["error"]
            problems.append(f"error {error.get('code')} {error.get('message')!r}, expected a result")
        elif reply.result_keys:
            result = response.get("result")
            missing = [k for k in reply.result_keys if not isinstance(result, dict) or k not in result]
            if missing:
                problems.append(f"result lacks {missing}")
    else:
        code = response.get("error", {}).get("code") if "error" in response else None
        if code != reply.code:
            problems.append(f"code {code}, expected {reply.code}")
    return problems


def _batch_problems(expected: tuple[Reply, ...], responses: list[Any]) -> list[str]:
    """The spec lets a server answer a batch in any order: match each reply once."""
    if len(responses) != len(expected):
        return [f"{len(responses)} responses, expected {len(expected)}"]
    left = list(responses)
    problems: list[str] = []
    for reply in expected:
        for index, response in enumerate(left):
            if not _reply_problems(reply, response):
                del left[index]
                break
        else:
            problems.append(f"no response matches {_describe(reply)}")
    return problems


def check_vector(vector: Vector, status: int, headers: dict[str, str], body: bytes) -> list[str]:
    """What is wrong with the answer to one vector (empty when it conforms)."""
    request_id = headers.get("x-request-id")
    problems = [] if request_id else ["no X-Request-Id header"]
    if vector.expect is None:
        if status != 204 or body:
            problems.append(f"HTTP {status} with {len(body)} body bytes, expected 204 and no body")
        return problems
    if status != 200:
        problems.append(f"HTTP {status}, expected 200")
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return [*problems, f"the body is not JSON: {body[:80]!r}"]
    shape = response_problems(decoded)
    if shape:
        return problems + shape
    responses = decoded if isinstance(decoded, list) else [decoded]
    for response in responses:
        problems.extend(data_problems(response, request_id))
    if isinstance(vector.expect, tuple):
        if not isinstance(decoded, list):
            return [*problems, f"a single response, expected a batch of {len(vector.expect)}"]
        return problems + _batch_problems(vector.expect, decoded)
    if isinstance(decoded, list):
        return [*problems, f"a batch of {len(decoded)}, expected one response"]
    return problems + _reply_problems(vector.expect, decoded)


def _post(client: httpx.Client, url: str, body: bytes, content_type: str) -> httpx.Response:
    return client.post(url, content=body, headers={"content-type": content_type})


def run_vectors(client: httpx.Client, base: str, vectors: Sequence[Vector] = VECTORS) -> list[Result]:
    import httpx

    results = []
    for vector in vectors:
        try:
            response = _post(client, f"{base}/rpc", vector.body, vector.content_type)
            problems = check_vector(vector, response.status_code, dict(response.headers), response.content)
        except httpx.HTTPError as exc:
            problems = [f"HTTP failure: {type(exc).__name__}: {exc}"]
        results.append(Result("vector", vector.name, not problems, "; ".join(problems)))
    return results


def _example_params(method: dict[str, Any], pairing: dict[str, Any]) -> Any:
    values = {param["name"]: param["value"] for param in pairing.get("params", ())}
    if method.get("paramStructure") == "by-position":
        return [values[p["name"]] for p in method.get("params", ()) if p["name"] in values]
    return values


def _needs_credentials(method: dict[str, Any], headers: dict[str, str]) -> str | None:
    """The access rule when the method is not public and no credentials were given."""
    auth = method.get("x-auth", "public")
    return None if auth == "public" or headers else str(auth)


def _check_example(pairing: dict[str, Any], answer: Any) -> tuple[list[str], str]:
    problems = response_problems(answer)
    if problems:
        return problems, ""
    if "error" in answer:
        error = answer["error"]
        return [f"error {error.get('code')} {error.get('message')!r}"], ""
    if "result" not in pairing:
        return [], ""
    expected = pairing["result"].get("value")
    if answer["result"] == expected:
        return [], ""
    problems, variations = compare(expected, answer["result"])
    if problems:
        return [f"result differs from the example's: {'; '.join(problems[:5])}"], ""
    if variations:
        return [], f"same shape; values vary at {', '.join(variations[:6])}"
    return [], "the result holds the example, and more"


WRITES_SKIPPED = "writes: runs only with --write, on a server it starts or one named --disposable"
# These end the session they are called with: each gets a session of its own (a fresh login
# with the `auth.login` example), and they run last.
REVOKING = ("auth.refreshToken", "auth.logout")
LOGIN = "auth.login"


def _order(methods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queries first, then mutations (deletes after the others), the session-ending ones last."""

    def rank(method: dict[str, Any]) -> tuple[int, int]:
        name = str(method.get("name", ""))
        if name in REVOKING:
            return 3, REVOKING.index(name)
        if method.get("x-kind", "query") == "query":
            return 0, 0
        return (2 if "delete" in name.rsplit(".", 1)[-1].lower() else 1), 0

    return sorted(methods, key=rank)


def _own_session(client: httpx.Client, base: str, methods: list[dict[str, Any]]) -> dict[str, str] | None:
    """A new session from the `auth.login` example's credentials (None when there is none)."""
    login = next((m for m in methods if m.get("name") == LOGIN and m.get("examples")), None)
    if login is None:
        return None
    body = encode(request(LOGIN, _example_params(login, login["examples"][0]), "login"))
    answer = client.post(f"{base}/rpc", content=body, headers={"content-type": "application/json"}).json()
    token = answer.get("result", {}).get("token") if isinstance(answer, dict) else None
    return {"authorization": f"Bearer {token}"} if isinstance(token, str) else None


def run_examples(
    client: httpx.Client, base: str, headers: dict[str, str] | None = None, *, write: bool = False
) -> list[Result]:
    """Call every OpenRPC example pairing and compare its result with the example's.

    Examples of non-public methods are skipped unless credentials are given, and examples of
    mutations unless `write` (the caller vouches that the server is disposable).
    """
    import httpx

    headers = headers or {}
    try:
        document = client.get(f"{base}/openrpc.json").json()
        methods = document["methods"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return [Result("openrpc", "GET /openrpc.json", False, f"no OpenRPC document: {exc}")]
    results: list[Result] = []
    for method in _order(methods) if write else methods:
        for number, pairing in enumerate(method.get("examples") or (), start=1):
            name = f"{method['name']} example {pairing.get('name') or number}"
            if not write and method.get("x-kind", "query") != "query":
                results.append(Result("example", name, True, WRITES_SKIPPED, skipped=True))
                continue
            needs = _needs_credentials(method, headers)
            if needs is not None:
                detail = f"needs {needs}: give --bearer or --api-key"
                results.append(Result("example", name, True, detail, skipped=True))
                continue
            try:
                call_headers = headers
                if method["name"] in REVOKING:
                    call_headers = _own_session(client, base, methods) or headers
                body = encode(request(method["name"], _example_params(method, pairing), number))
                answer = client.post(
                    f"{base}/rpc", content=body, headers={"content-type": "application/json", **call_headers}
                ).json()
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                results.append(Result("example", name, False, f"{type(exc).__name__}: {exc}"))
                continue
            problems, note = _check_example(pairing, answer)
            results.append(Result("example", name, not problems, "; ".join(problems) or note))
    if not results:
        results.append(Result("openrpc", "OpenRPC examples", True, "0 examples"))
    return results


def run(
    url: str, *, headers: dict[str, str] | None = None, timeout: float = 30.0, write: bool = False
) -> list[Result]:
    """Every vector, then every OpenRPC example, against the server at `url`.

    Read-only unless `write`: then mutation examples run too, which change the server's data
    and end sessions. Pass `write=True` only for a server that may be thrown away.
    """
    import httpx

    base = url.rstrip("/")
    with httpx.Client(timeout=timeout) as client:
        return run_vectors(client, base) + run_examples(client, base, headers, write=write)


def print_table(results: Sequence[Result], out: TextIO) -> None:
    width = max((len(r.name) for r in results), default=10)
    for r in results:
        mark = "SKIP" if r.skipped else "PASS" if r.passed else "FAIL"
        out.write(f"{mark}  {r.kind:<8}{r.name:<{width}}  {r.detail}".rstrip() + "\n")
    failed = sum(not r.passed for r in results)
    skipped = sum(r.skipped for r in results)
    out.write(f"{len(results) - failed - skipped} passed, {failed} failed, {skipped} skipped\n")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        nargs="?",
        help="the server's base URL, e.g. http://127.0.0.1:8000; without it, a fresh server with "
        "the demo data is started on a temporary directory and removed afterwards",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="also run the examples that write (create, delete, log out); needs a server started "
        "by the command (no URL) or --disposable",
    )
    parser.add_argument(
        "--disposable",
        action="store_true",
        help="with --write and a URL: the server's data and sessions may be changed and lost",
    )
    parser.add_argument("--bearer", help="a token for OpenRPC examples that need a signed-in user")
    parser.add_argument("--api-key", help="a device API key for examples that need a device")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")


def execute(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run the checks for parsed arguments; the exit status is 1 on any failure."""
    out = out or sys.stdout
    try:
        import httpx  # noqa: F401  (a dev dependency; say so instead of a traceback)
    except ImportError:
        print("tvms conformance: needs httpx (pip install httpx)", file=sys.stderr)
        return 2
    for name in ("httpx", "httpcore"):  # a log line per request would bury the PASS lines
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.url and args.write and not args.disposable:
        print(
            "tvms conformance: --write changes the server's data and ends sessions; add --disposable"
            " if that server may be thrown away, or give no URL to check a server started for it",
            file=sys.stderr,
        )
        return 2
    headers = {}
    if args.bearer:
        headers["authorization"] = f"Bearer {args.bearer}"
    if args.api_key:
        headers["x-api-key"] = args.api_key
    if args.url:
        results = run(args.url, headers=headers, timeout=args.timeout, write=args.write)
    else:
        results = _run_on_own_server(headers, args.timeout, args.write)
    print_table(results, out)
    return 0 if all(r.passed for r in results) else 1


def _run_on_own_server(headers: dict[str, str], timeout: float, write: bool) -> list[Result]:
    """The checks on a fresh, seeded server, signed in as its demo administrator."""
    import httpx

    from tvms.conformance.own_server import own_server

    with own_server() as url, httpx.Client(timeout=timeout) as client:
        methods = client.get(f"{url}/openrpc.json").json()["methods"]
        session = headers or _own_session(client, url, methods) or {}
        return run(url, headers=session, timeout=timeout, write=write)


def register(commands: Any) -> None:
    """Add `conformance URL` to the `tvms` command (argparse's subparsers object)."""
    parser = commands.add_parser(
        "conformance",
        help="check a server against the JSON-RPC 2.0 vectors and its OpenRPC examples (read-only"
        " unless --write)",
    )
    _arguments(parser)
    parser.set_defaults(run=lambda args, config: execute(args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tvms conformance", description="JSON-RPC 2.0 conformance check of a TVMS server"
    )
    _arguments(parser)
    return execute(parser.parse_args(argv))
