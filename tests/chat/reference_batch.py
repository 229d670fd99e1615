#!/usr/bin/env python3
"""Renders many chat-template cases in one interpreter with the shared reference renderer.

Usage: reference_batch.py RENDERER.py CASES.json
RENDERER.py is ../shared/tools/render_chat_template.py; CASES.json is a list of
{"template": path, "context": path}. Prints one JSON object per case, in order:
{"status": 0, "out": rendered} or {"status": 1, "err": "Type: message\\n"}, exactly what
the renderer prints and returns when run once per case (starting the interpreter once per
render was most of the differential test's time).
"""
import importlib.util
import json
import sys


def load_renderer(path):
    spec = importlib.util.spec_from_file_location("render_chat_template", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(renderer, compiled, template_path, context_path):
    with open(context_path, encoding="utf-8") as f:
        context = json.load(f)
    try:
        # Compiling is most of a render's time; a compiled template renders statelessly.
        if template_path not in compiled:
            with open(template_path, encoding="utf-8") as f:
                compiled[template_path] = renderer.make_env().from_string(f.read())
        return {"status": 0, "out": compiled[template_path].render(**context)}
    except Exception as e:  # as the renderer's main(): the template itself may raise
        return {"status": 1, "err": f"{type(e).__name__}: {e}\n"}


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    renderer = load_renderer(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        cases = json.load(f)
    compiled = {}
    for case in cases:
        sys.stdout.write(json.dumps(render(renderer, compiled, case["template"], case["context"])) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
