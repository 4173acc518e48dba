#!/usr/bin/env python3
"""Regenerates docs/rules.md and docs/json-output.md from their templates in docs/src/, pasting
the real output of qci-mirror for every example, so the documentation cannot drift from the tool.

Run from the repository root after `cargo build`:  python3 docs/src/gen.py
Examples live in docs/src/examples/<code>/{bad,fixed}/_config.yaml (or a mapping_* file, beside a
_config.yaml when the rule needs one); each bad example must produce its code and each fixed one
must not."""
import re, subprocess, sys, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = str(ROOT / "target/debug/qci-mirror")
EX = ROOT / "docs/src/examples"

def run(d, *args):
    if d.name == "bad" and d.parent.name == "file-too-large":
        # Made here rather than committed: 17 MiB of nothing.
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "_config.yaml", "wb") as f:
            f.truncate(17 * 1024 * 1024)
    p = subprocess.run([BIN, "validate", *args], cwd=d, capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()

def example(d):
    """The file an example checks: its mapping file if it has one, else its _config.yaml."""
    mappings = sorted(p.name for p in d.glob("mapping_*"))
    return mappings[0] if mappings else "_config.yaml"

def lang(name):
    return "text" if name.startswith("mapping_") else "yaml"

def block(lang, text):
    if not text.endswith("\n"):
        text += "\n"
    return f"```{lang}\n{text}```"

def repl(m):
    kind, arg = m.group(1), m.group(2)
    if kind == "bad":
        d = EX / arg / "bad"
        return block(lang(example(d)), (d / example(d)).read_text())
    if kind == "fixed":
        d = EX / arg / "fixed"
        code, out, err = run(d, example(d))
        assert f"[{arg}]" not in out, (arg, out)
        return block(lang(example(d)), (d / example(d)).read_text())
    if kind == "out":
        # arg may be code or code/variant
        parts = arg.split("/")
        d = EX / parts[0] / (parts[1] if len(parts) > 1 else "bad")
        code, out, err = run(d, example(d))
        assert err == "", err
        assert f"[{parts[0]}]" in out, (arg, out)
        return block("text", out.rstrip("\n") + "\n") + f"\n\nExit status: {code}."
    if kind == "file":
        return block(arg.rsplit(".", 1)[-1] if "." in arg else "", (ROOT / arg).read_text())
    if kind == "json":
        d = ROOT / "docs/src/json-example"
        code, out, err = run(d, "--format", "json", "_config.yaml", "missing.yaml")
        assert code == 2, code
        c1, o1, e1 = run(d, "--format", "json", "_config.yaml")
        assert c1 == 1 and e1 == "", (c1, e1)
        return block("json" if arg == "stdout" else "text", out if arg == "stdout" else err)
    raise SystemExit(f"unknown marker {kind}")

for name in ("rules.md", "json-output.md"):
    template = (ROOT / "docs/src" / f"{name}.tmpl").read_text()
    (ROOT / "docs" / name).write_text(re.sub(r"@@(\w+):([^@]+)@@", repl, template))
