#!/usr/bin/env python3
"""Generate an addon's README.rst and static/description/index.html from the
Markdown fragments of its readme/ folder, the way OCA's oca-gen-addon-readme
lays them out (OCA's tool is not on PyPI and needs pandoc; this one needs
docutils only, which Odoo requires).

    python tools/gen_readme.py [--check] [ADDON_DIR ...]

Without ADDON_DIR: every addon of the repository that has readme/DESCRIPTION.md.
--check writes nothing and exits 1 when a committed file differs from what
the fragments give.

The fragments use a small Markdown subset, converted to reStructuredText
here: paragraphs, bullet and numbered lists (nested by indentation),
headings (``#`` to ``###``), fenced code blocks, inline code, ``**strong**``,
``*emphasis*``, ``[links](https://...)`` and ``<https://...>``. Anything
docutils warns about stops the generation (as OCA's tool does).
"""

import argparse
import ast
import hashlib
import json
import re
import sys
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FRAGMENTS = ("DESCRIPTION", "CONFIGURE", "USAGE", "ROADMAP", "CONTRIBUTORS")
SECTIONS = (
    ("CONFIGURE", "Configuration"),
    ("USAGE", "Usage"),
    ("ROADMAP", "Known issues / Roadmap"),
)
# Markdown heading level -> reStructuredText underline (as pandoc writes them)
UNDERLINES = {1: "=", 2: "-", 3: "~"}
# The rendering settings OCA's tool uses (from pypa/readme_renderer).
HTML_SETTINGS = {
    "file_insertion_enabled": False,
    "halt_level": 2,  # a docutils warning is an error
    "math_output": "MathJax",
    "raw_enabled": False,
    "smart_quotes": True,
    "syntax_highlight": "short",
    "xml_declaration": False,
    "output_encoding": "utf-8",
    "_disable_config": True,  # no docutils.conf of the machine
}
LICENSE_BADGES = {
    "AGPL-3": "http://www.gnu.org/licenses/agpl-3.0-standalone.html",
    "LGPL-3": "http://www.gnu.org/licenses/lgpl-3.0-standalone.html",
    "GPL-3": "http://www.gnu.org/licenses/gpl-3.0-standalone.html",
}
STATUS_BADGES = {
    "alpha": ("Alpha", "red"),
    "beta": ("Beta", "yellow"),
    "production/stable": ("Production/Stable", "green"),
    "mature": ("Mature", "brightgreen"),
}


class FragmentError(Exception):
    pass


# ------------------------------------------------------------ inline ----

INLINE = re.compile(
    r"(?P<tick>`+)(?P<code>.+?)(?P=tick)(?!`)"
    r"|\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)"
    r"|<(?P<auto>https?://[^>\s]+)>"
    r"|\*\*(?P<strong>\S(?:.*?\S)?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*]*?[^*\s])?)\*(?![\w*])"
    r"|(?<![\w\\])_(?P<em2>[^_\s](?:[^_]*?[^_\s])?)_(?!\w)",
    re.S,
)
OPEN_OK = "-/:'\"<([{"
CLOSE_OK = "-.,:;!?\\/'\")]}>"


def _may_open(char):
    return (
        not char
        or char.isspace()
        or char in OPEN_OK
        or unicodedata.category(char) in ("Ps", "Pi", "Pf", "Pd", "Po")
    )


def _may_close(char):
    return (
        not char
        or char.isspace()
        or char in CLOSE_OK
        or unicodedata.category(char) in ("Pe", "Pi", "Pf", "Pd", "Po")
    )


def _escape(text):
    text = text.replace("\\", "\\\\")
    text = re.sub(r"([*`|])", r"\\\1", text)
    # "word_" is a reference in reStructuredText
    return re.sub(r"_(?=\W|$)", r"\\_", text)


def _markup(match):
    if match.group("code") is not None:
        code = " ".join(match.group("code").split())
        return f"``{code}``"
    if match.group("url") is not None:
        url = match.group("url")
        if not re.match(r"https?://", url):
            raise FragmentError(
                f"link to {url!r}: the README is shown on PyPI and in Odoo's "
                "Apps, where relative links break; use an absolute URL"
            )
        text = " ".join(match.group("text").replace("`", "").split())
        text = text.replace("<", "\\<")
        return f"`{text} <{url}>`__"
    if match.group("auto") is not None:
        return match.group("auto")
    if match.group("strong") is not None:
        return "**" + _escape(match.group("strong")) + "**"
    em = match.group("em") if match.group("em") is not None else match.group("em2")
    return "*" + _escape(em) + "*"


def inline(text):
    """Markdown inline text -> reStructuredText (one paragraph, lines kept)."""
    out, pos = [], 0
    for match in INLINE.finditer(text):
        out.append(_escape(text[pos : match.start()]))
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        markup = _markup(match)
        if markup.startswith(("`", "*")):
            if not _may_open(before):
                markup = "\\ " + markup
            if not _may_close(after):
                markup += "\\ "
        out.append(markup)
        pos = match.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


# ------------------------------------------------------------- blocks ----

LIST_ITEM = re.compile(r"^( *)([-*+]|\d+[.)]) +(\S.*)$")
HEADING = re.compile(r"^(#{1,6}) +(.*?)#*\s*$")
FENCE = re.compile(r"^ *(```|~~~)")


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _starts_block(line):
    return bool(LIST_ITEM.match(line) or HEADING.match(line) or FENCE.match(line))


def blocks_to_rst(lines):
    """Markdown lines (tabs expanded) -> reStructuredText lines."""
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.lstrip().startswith(("|", ">", "<")) and not line.lstrip().startswith(
            "<http"
        ):
            raise FragmentError(f"unsupported Markdown (table, quote, HTML): {line!r}")
        fence = FENCE.match(line)
        heading = HEADING.match(line)
        item = LIST_ITEM.match(line)
        if fence:
            body, i = [], i + 1
            while i < len(lines) and not lines[i].strip().startswith(fence.group(1)):
                body.append(lines[i])
                i += 1
            i += 1
            width = min((_indent(b) for b in body if b.strip()), default=0)
            out += ["::", ""] + [("    " + b[width:]).rstrip() for b in body] + [""]
        elif heading:
            level = len(heading.group(1))
            if level not in UNDERLINES:
                raise FragmentError(f"heading too deep: {line!r}")
            title = inline(heading.group(2))
            out += [title, UNDERLINES[level] * len(title), ""]
            i += 1
        elif item:
            i = _list(lines, i, out)
        else:
            para = [line.strip()]
            i += 1
            while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
                para.append(lines[i].strip())
                i += 1
            out += inline("\n".join(para)).split("\n") + [""]
    return out


def _list(lines, i, out):
    """One list (its items at the indentation of lines[i]); returns the next i."""
    base = _indent(lines[i])
    number = 0
    while i < len(lines):
        item = LIST_ITEM.match(lines[i])
        if not item or len(item.group(1)) != base:
            break
        ordered = item.group(2)[0].isdigit()
        content_col = len(lines[i]) - len(item.group(3))
        body, i = [" " * content_col + item.group(3)], i + 1
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                # a blank line ends the item unless indented content follows
                nxt = next((n for n in lines[i:] if n.strip()), "")
                if (
                    nxt
                    and _indent(nxt) > base
                    and not (LIST_ITEM.match(nxt) and _indent(nxt) <= base)
                ):
                    body.append("")
                    i += 1
                    continue
                break
            sub = LIST_ITEM.match(line)
            if sub and _indent(line) <= base:
                break
            if _indent(line) < content_col and not sub:
                line = " " * content_col + line.strip()  # lazy continuation
            body.append(line)
            i += 1
        inner = [b[content_col:] if b.strip() else "" for b in body]
        converted = blocks_to_rst(inner)
        while converted and not converted[-1]:
            converted.pop()
        number += 1
        marker = f"{number}. " if ordered else "- "
        pad = " " * len(marker)
        out.append(marker + converted[0])
        out += [pad + c if c else "" for c in converted[1:]]
        loose = i < len(lines) and not lines[i].strip()
        while i < len(lines) and not lines[i].strip():
            i += 1
        # a tight list stays tight; an item of several blocks needs the blank
        if loose or "" in converted:
            out.append("")
    if out and out[-1]:
        out.append("")
    return i


def md_to_rst(text):
    lines = text.expandtabs(4).splitlines()
    rst = blocks_to_rst(lines)
    while rst and not rst[-1]:
        rst.pop()
    return "\n".join(rst) + "\n"


# ------------------------------------------------------------- README ----


def read_manifest(addon_dir):
    return ast.literal_eval((addon_dir / "__manifest__.py").read_text(encoding="utf-8"))


def _badge_part(text):
    return text.replace("-", "--").replace("_", "__").replace("/", "%2F")


def render_readme(addon_dir):
    manifest = read_manifest(addon_dir)
    readme_dir = addon_dir / "readme"
    sources, fragments = {}, {}
    for name in FRAGMENTS:
        path = readme_dir / f"{name}.md"
        if path.is_file() and path.read_text(encoding="utf-8").strip():
            sources[name] = path.read_text(encoding="utf-8")
            try:
                fragments[name] = md_to_rst(sources[name])
            except FragmentError as e:
                raise FragmentError(f"{path.relative_to(REPO)}: {e}") from None
    used = {
        k: manifest.get(k)
        for k in ("name", "license", "author", "website", "development_status")
    }
    digest = hashlib.sha256(
        json.dumps([sources, used], sort_keys=True).encode()
    ).hexdigest()

    name = manifest["name"]
    website = (manifest.get("website") or "").rstrip("/")
    repo = "/".join(website.split("/")[-2:]) if "github.com/" in website else ""
    badges = []
    status = (manifest.get("development_status") or "Beta").lower()
    if status in STATUS_BADGES:
        label, color = STATUS_BADGES[status]
        badges.append(
            (
                f"https://img.shields.io/badge/maturity-{label.replace('/', '%2F')}"
                f"-{color}.png",
                "https://odoo-community.org/page/development-status",
                label,
            )
        )
    license_ = manifest.get("license")
    if license_ in LICENSE_BADGES:
        badges.append(
            (
                f"https://img.shields.io/badge/license-{_badge_part(license_)}-blue.png",
                LICENSE_BADGES[license_],
                f"License: {license_}",
            )
        )
    if repo:
        badges.append(
            (
                f"https://img.shields.io/badge/github-{_badge_part(repo)}"
                "-lightgray.png?logo=github",
                website,
                repo,
            )
        )

    bar = "!" * 60
    out = [
        "=" * len(name),
        name,
        "=" * len(name),
        "",
        "..",
        "   " + bar,
        "   !! This file is generated by tools/gen_readme.py from the",
        "   !! fragments in readme/: edit those, then run the tool.",
        "   " + bar,
        f"   !! source digest: sha256:{digest}",
        "   " + bar,
        "",
    ]
    for n, (image, target, alt) in enumerate(badges, 1):
        out += [
            f".. |badge{n}| image:: {image}",
            f"    :target: {target}",
            f"    :alt: {alt}",
        ]
    if badges:
        out += ["", " ".join(f"|badge{n}|" for n in range(1, len(badges) + 1)), ""]
    if "DESCRIPTION" in fragments:
        out += [fragments["DESCRIPTION"]]
    out += ["**Table of contents**", "", ".. contents::", "   :local:", ""]
    for key, title in SECTIONS:
        if key in fragments:
            out += [title, "=" * len(title), "", fragments[key]]
    if repo:
        out += [
            "Bug Tracker",
            "===========",
            "",
            f"Bugs are tracked on `GitHub Issues <{website}/issues>`_.",
            "In case of trouble, please check there if your issue has already "
            "been reported.",
            "",
        ]
    out += ["Credits", "=======", ""]
    authors = [a.strip() for a in manifest.get("author", "").split(",") if a.strip()]
    if authors:
        out += ["Authors", "-------", ""] + [f"* {a}" for a in authors] + [""]
    if "CONTRIBUTORS" in fragments:
        out += ["Contributors", "------------", "", fragments["CONTRIBUTORS"]]
    out += ["Maintainers", "-----------", ""]
    if repo:
        out += [
            f"This module is part of the `{repo} <{website}>`_ project on GitHub.",
            "",
        ]
    out += ["You are welcome to contribute.", ""]
    return "\n".join(out)


def render_index(readme):
    from docutils.core import publish_string
    from docutils.utils import SystemMessage

    try:
        html = publish_string(
            source=readme, writer_name="html4css1", settings_overrides=HTML_SETTINGS
        )
    except SystemMessage as e:
        raise FragmentError(f"README.rst does not render: {e}") from None
    # the docutils version in <meta name="generator"> would change the file
    # with every docutils release
    return re.sub(rb'(<meta name="generator" content="Docutils)[^"]*', rb"\1", html)


def _comparable_html(html):
    # the embedded stylesheet is docutils' own and varies with its version
    return re.sub(rb"<style[^>]*>.*?</style>", b"", html, flags=re.S)


def addon_dirs(args):
    if args:
        return [Path(a).resolve() for a in args]
    return sorted(
        m.parent
        for m in REPO.glob("*/__manifest__.py")
        if (m.parent / "readme" / "DESCRIPTION.md").is_file()
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("addons", nargs="*", help="addon folders (default: all)")
    args = parser.parse_args(argv)
    stale = []
    for addon in addon_dirs(args.addons):
        try:
            readme = render_readme(addon)
            index = render_index(readme)
        except FragmentError as e:
            print(f"{addon.name}: {e}", file=sys.stderr)
            return 1
        targets = (
            (addon / "README.rst", readme.encode("utf-8"), bytes),
            (addon / "static" / "description" / "index.html", index, _comparable_html),
        )
        for path, content, comparable in targets:
            old = path.read_bytes() if path.is_file() else None
            if args.check:
                if old is None or comparable(old) != comparable(content):
                    stale.append(path.relative_to(REPO))
            elif old != content:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print(
            "not generated from readme/ (edit the fragments, then run "
            "tools/gen_readme.py): " + ", ".join(map(str, stale)),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
