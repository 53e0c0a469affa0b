"""Show what editors offer for `dynamap`: pyright's language server (VS Code) and jedi.

Run from the repository root:

    .venv/bin/python scripts/check_editor.py [--json] [--python PATH]

`--python` names the interpreter whose site-packages both engines resolve `dynamap` from
(default: this one). pyright is driven over LSP stdio in a temporary workspace; jedi through
its Python API. Exit status 1 if completing `dynamap.` or `from dynamap import ` offers a
private name (a leading underscore, dunders aside, or a module under a private path), if a
`Deferred` instance offers a private attribute, or if an engine fails; 2 if `dynamap` does not
import. Signature help for `session.get(` and a model constructor is printed for information.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

DEADLINE = time.monotonic() + 55.0
MODULE_KIND = 9  # LSP CompletionItemKind.Module
MODEL = """from typing import Annotated
from pydantic import Field
import dynamap
class User(dynamap.Model, table="users"):
    pk: Annotated[str, dynamap.PartitionKey()]
"""
CHECKS: dict[str, str] = {  # name -> source; each "$" marks a cursor position
    "members": "import dynamap\ndynamap.$",
    "from_import": "from dynamap import $",
    "deferred": "import dynamap\ndef f(d: dynamap.Deferred[int]) -> None:\n    d.$",
    # pyright documents only the active parameter, so ask once per parameter
    "session_get": "import dynamap\ndef f(session: dynamap.Session) -> None:\n"
    '    session.get($dynamap.Model, $"k", consistent=$True)',
    "ctor_alias": MODEL + '    user_id: str = Field(default="", alias="user-id")\nUser($',
    "ctor_attr": MODEL + '    user_id: Annotated[str, dynamap.Attr("user-id")] = ""\nUser($',
}
COMPLETIONS = ("members", "from_import", "deferred")
PROBE = """import json, sys, dynamap
print(json.dumps({"sys_path": sys.path, "prefix": sys.prefix, "base": sys.base_prefix,
                  "has_attr": hasattr(dynamap, "Attr")}))"""


def cursors(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """The source without its "$" markers, and the (0-based line, column) of each."""
    src, spots = "", list[tuple[int, int]]()
    for i, chunk in enumerate(marked.split("$")):
        if i:
            spots.append((src.count("\n"), len(src) - src.rfind("\n") - 1))
        src += chunk
    return src, spots


def is_private(name: str) -> bool:
    """A leading underscore makes a name private, unless it is a dunder such as `__all__`."""
    return name.startswith("_") and not (len(name) > 4 and name[:2] == name[-2:] == "__")


def private_path(path: str, roots: list[str]) -> bool:
    """Whether a part of `path` below its sys.path entry (else the file or its dir) is private."""
    p = Path(path).resolve()
    parts = [p.parent.name, p.stem]
    for root in sorted((Path(r).resolve() for r in roots if r), key=lambda r: -len(str(r))):
        if p.is_relative_to(root):
            parts = [*p.relative_to(root).parent.parts, p.stem]
            break
    return any(is_private(x) for x in parts)


class Lsp:
    """A minimal LSP client over stdio, for `pyright-langserver --stdio`."""

    def __init__(self, cmd: list[str], settings: dict[str, Any]) -> None:
        self.settings, self.next_id = settings, 0
        pipe = subprocess.PIPE
        self.proc = subprocess.Popen(
            cmd, stdin=pipe, stdout=pipe, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while (line := out.readline()).strip():
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not length:  # end of output
                return self.inbox.put(None)
            self.inbox.put(json.loads(out.read(length)))

    def send(self, **msg: Any) -> None:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def request(self, method: str, params: Any, timeout: float = 30.0) -> Any:
        self.next_id += 1
        self.send(id=self.next_id, method=method, params=params)
        until = min(DEADLINE, time.monotonic() + timeout)
        while True:
            try:
                msg = self.inbox.get(timeout=max(0.01, until - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"pyright: no answer to {method}") from None
            if msg is None:
                raise RuntimeError("pyright: the server closed its output")
            if "method" in msg and "id" in msg:  # a request from the server
                self.send(id=msg["id"], result=self._answer(msg))
            elif msg.get("id") == self.next_id:  # notifications are ignored
                if "error" in msg:
                    raise RuntimeError(f"pyright: {method}: {msg['error']}")
                return msg.get("result")

    def _answer(self, msg: dict[str, Any]) -> Any:
        if msg["method"] != "workspace/configuration":
            return None
        out: list[Any] = []
        for item in msg["params"]["items"]:
            value: Any = self.settings
            for key in filter(None, (item.get("section") or "").split(".")):
                value = value.get(key, {}) if isinstance(value, dict) else {}
            out.append(value)
        return out

    def open(self, path: Path, text: str) -> str:
        path.write_text(text)
        doc = {"uri": path.as_uri(), "languageId": "python", "version": 1, "text": text}
        self.send(method="textDocument/didOpen", params={"textDocument": doc})
        return path.as_uri()

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=3)
            self.send(method="exit")
            self.proc.wait(timeout=2)
        except Exception:
            pass
        finally:
            if self.proc.poll() is None:  # the wrapper and node share our new session
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def run_pyright(env: dict[str, Any], python: str, work: Path) -> dict[str, Any]:
    config: dict[str, Any] = {}  # pythonPath is not a config-file setting: sent as a setting
    if env["prefix"] != env["base"]:  # a venv: name it the way pyright documents
        config = {"venvPath": str(Path(env["prefix"]).parent), "venv": Path(env["prefix"]).name}
    (work / "pyrightconfig.json").write_text(json.dumps(config))
    exe = Path(sys.executable).with_name("pyright-langserver")
    found = str(exe) if exe.exists() else shutil.which("pyright-langserver")
    if not found:
        raise RuntimeError("pyright-langserver not found: pip install pyright")
    lsp = Lsp([found, "--stdio"], {"python": {"pythonPath": python, "analysis": {}}})
    res: dict[str, Any] = {}
    try:
        root = work.as_uri()
        caps = {"workspace": {"configuration": True, "workspaceFolders": True}}
        folders = [{"uri": root, "name": "probe"}]
        init = {"processId": os.getpid(), "rootUri": root, "workspaceFolders": folders}
        lsp.request("initialize", {**init, "capabilities": caps})
        lsp.send(method="initialized", params={})
        for name, marked in CHECKS.items():
            if name == "ctor_attr" and not env["has_attr"]:
                continue
            src, spots = cursors(marked)
            uri = lsp.open(work / f"{name}.py", src)
            at = [{"textDocument": {"uri": uri}, "position": {"line": ln, "character": col}}
                  for ln, col in spots]  # fmt: skip
            if name in COMPLETIONS:
                got = lsp.request("textDocument/completion", at[0]) or []
                items = got["items"] if isinstance(got, dict) else got
                mods = sorted({i["label"] for i in items if i.get("kind") == MODULE_KIND})
                paths = module_paths(lsp, work, name, mods) if name != "deferred" else {}
                res[name] = {"names": sorted({i["label"] for i in items}), "modules": paths}
            else:
                ctx = {"context": {"triggerKind": 1, "isRetrigger": False}}
                helps = [lsp.request("textDocument/signatureHelp", {**p, **ctx}) for p in at]
                res[name] = [signature(h) for h in helps]
    finally:
        lsp.close()
    return res


def module_paths(lsp: Lsp, work: Path, check: str, mods: list[str]) -> dict[str, str]:
    """Ask pyright where each offered module is: go to definition on a probe using it."""
    lead = "import dynamap\n" if check == "members" else ""
    use = "dynamap.${}\n" if check == "members" else "from dynamap import ${}\n"
    src, spots = cursors(lead + "".join(use.format(m) for m in mods))
    uri = lsp.open(work / f"{check}_defs.py", src)
    out: dict[str, str] = {}
    for mod, (line, col) in zip(mods, spots, strict=True):
        pos = {"textDocument": {"uri": uri}, "position": {"line": line, "character": col}}
        locs = lsp.request("textDocument/definition", pos) or []
        for loc in [locs] if isinstance(locs, dict) else locs[:1]:
            out[mod] = (loc.get("uri") or loc.get("targetUri", "")).removeprefix("file://")
    return out


def signature(help_: Any) -> dict[str, Any]:
    if not help_ or not help_.get("signatures"):
        return {"label": None, "params": []}
    sig = help_["signatures"][help_.get("activeSignature") or 0]
    label: str = sig["label"]
    active = sig.get("activeParameter", help_.get("activeParameter"))
    params: list[dict[str, Any]] = []
    for i, p in enumerate(sig.get("parameters", [])):
        name = label[p["label"][0] : p["label"][1]] if isinstance(p["label"], list) else p["label"]
        doc = (p.get("documentation") or {}).get("value")
        params.append({"label": name, "doc": doc, "active": i == active})
    return {"label": label, "params": params}


def run_jedi(env: dict[str, Any], python: str, work: Path) -> dict[str, Any]:
    import jedi  # type: ignore[import-untyped]  # no stubs; an ImportError fails this engine

    project = jedi.Project(str(work), environment_path=python)
    res: dict[str, Any] = {}
    for name, marked in CHECKS.items():
        if name == "ctor_attr" and not env["has_attr"]:
            continue
        src, spots = cursors(marked)
        script = jedi.Script(src, path=str(work / f"{name}.py"), project=project)
        if name in COMPLETIONS:
            comps = script.complete(spots[0][0] + 1, spots[0][1])
            mods = {c.name: str(d.module_path) for c in comps for d in c.infer()[:1]
                    if d.type == "module"}  # fmt: skip
            res[name] = {"names": sorted({c.name for c in comps}), "modules": mods}
            continue
        res[name] = []
        for line, col in spots:
            sig = next(iter(script.get_signatures(line + 1, col)), None)
            params = [] if sig is None else sig.params
            res[name].append({
                "label": sig and sig.to_string(),
                "params": [{"label": p.to_string(), "doc": None,
                            "active": sig is not None and i == sig.index}
                           for i, p in enumerate(params)],
            })  # fmt: skip
    return res


def judge(res: dict[str, Any], roots: list[str]) -> None:
    if "Session" not in res["members"]["names"]:  # else an empty list would pass
        raise RuntimeError("dynamap was not resolved: `dynamap.` offers no Session")
    for name in COMPLETIONS:
        if (got := res.get(name)) is None:
            continue
        bad = {n for n in got["names"] if is_private(n)}
        if name != "deferred":
            bad |= {m for m, p in got["modules"].items() if private_path(p, roots)}
        got["offending"] = sorted(bad)


def show(engine: str, res: dict[str, Any]) -> None:
    print(f"== {engine}")
    if "error" in res:
        return print(f"  ERROR: {res['error']}")
    for name in COMPLETIONS:
        got, bad = res[name], res[name]["offending"]
        print(f"  {name}: {len(got['names'])} names offered, {len(bad)} private", end="")
        print(": " + ", ".join(bad) if bad else "")
        if hidden := [m for m in bad if not is_private(m)]:  # public name, private path
            print("    modules: " + ", ".join(f"{m} ({got['modules'][m]})" for m in hidden))
    for name in ("session_get", "ctor_alias", "ctor_attr"):
        for k, sig in enumerate(res.get(name, [])):
            if not k:
                print(f"  {name}: {sig['label']}")
            for p in sig["params"]:
                if p["active"]:
                    print(f"    [{k}] active {p['label']!r}: {(p['doc'] or '-').strip()}")
        if name != "session_get" and name in res:
            found = "user_id" in (res[name][0]["label"] or "")
            print(f"    user_id in the constructor signature: {found}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--python", default=sys.executable, help="interpreter to resolve from")
    args = parser.parse_args()

    def on_alarm(_sig: int, _frame: FrameType | None) -> None:
        raise TimeoutError("check_editor: out of time")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(58)  # the last resort; every LSP wait also stops at DEADLINE
    python = str(Path(args.python).absolute())  # not resolved: a venv's python is a symlink
    cmd = [python, "-c", PROBE]
    probe = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    if probe.returncode:
        print(f"cannot import dynamap with {python}:\n{probe.stderr}", file=sys.stderr)
        return 2
    env = json.loads(probe.stdout)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="check-editor-") as tmp:
        for engine, run in (("pyright", run_pyright), ("jedi", run_jedi)):
            (work := Path(tmp) / engine).mkdir()
            try:
                results[engine] = run(env, python, work)
                judge(results[engine], env["sys_path"])
            except Exception as exc:
                results[engine] = {"error": f"{type(exc).__name__}: {exc}"}
    signal.alarm(0)
    failed = any(
        "error" in r or any(r[c]["offending"] for c in COMPLETIONS) for r in results.values()
    )
    if args.json:
        print(json.dumps({"python": python, "failed": failed, **results}, indent=2))
    else:
        for engine, res in results.items():
            show(engine, res)
        print("FAIL" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
