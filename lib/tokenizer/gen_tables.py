#!/usr/bin/env python3
"""Generates the rule tables of the GPT-1 tokenizer port from the installed Python packages.

    python3 lib/tokenizer/gen_tables.py        # needs spacy 3.8 and ftfy 6.3.1

Writes (and runs `deno fmt` on):
  lib/tokenizer/spacy_tables.ts  spaCy's English tokenizer: prefix / suffix / infix / URL regexes
                                 and the 1,347 tokenizer exceptions (special cases).
  lib/tokenizer/ftfy_tables.ts   ftfy's tables: HTML entities, ligatures, width map, the
                                 single-byte codecs, and the mojibake-detection regexes.

The regexes are not copied as text: each Python pattern is parsed with Python's own regex
parser (`re._parser`) and re-emitted as an equivalent JavaScript pattern for the `u` flag.
Python's Unicode classes (\\w, \\d, \\s) are expanded to explicit code point ranges computed
with this Python (Unicode 14), `$` becomes `(?=\\n?$)` (Python's end-of-string-or-before-a-
final-newline) and `.` becomes `[^\\n]`, so the JavaScript pattern matches exactly what the
Python pattern matches. All groups become non-capturing (only match spans are used).
"""
from __future__ import annotations

import html
import html.entities
import json
import os
import re
import re._constants as C  # noqa: N812
import re._parser as P  # noqa: N812
import shutil
import subprocess
import sys
import unicodedata

import ftfy
import ftfy.badness
import ftfy.chardata
import ftfy.fixes
import spacy
from spacy.lang.en import English
from spacy.symbols import ORTH

HERE = os.path.dirname(os.path.abspath(__file__))
MAXCP = 0x110000

# ----------------------------------------------------------------------------------------
# Python regex -> JavaScript regex


def _ranges(pred, limit):
    out, start = [], None
    for c in range(limit):
        if pred(c):
            if start is None:
                start = c
        elif start is not None:
            out.append((start, c - 1))
            start = None
    if start is not None:
        out.append((start, limit - 1))
    return out


print("computing Python's Unicode classes ...", file=sys.stderr)
UNI = {
    "word": _ranges(lambda c: chr(c).isalnum() or c == 0x5F, MAXCP),
    "digit": _ranges(lambda c: chr(c).isdecimal(), MAXCP),
    "space": _ranges(lambda c: chr(c).isspace(), MAXCP),
}
ASC = {
    "word": _ranges(lambda c: chr(c).isascii() and (chr(c).isalnum() or c == 0x5F), 256),
    "digit": [(0x30, 0x39)],
    "space": [(9, 13), (32, 32)],
}


def _merge(rs):
    rs = sorted(rs)
    out = []
    for lo, hi in rs:
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _complement(rs, limit):
    out, prev = [], 0
    for lo, hi in _merge(rs):
        if lo > prev:
            out.append((prev, lo - 1))
        prev = hi + 1
    if prev < limit:
        out.append((prev, limit - 1))
    return out


SYNTAX = set("^$\\.*+?()[]{}|/")
CLASS_SYNTAX = set("\\]^-[")


def _char(c, in_class):
    """One character of a pattern: itself when printable, else `\\u{HEX}`."""
    ch = chr(c)
    if in_class and ch in CLASS_SYNTAX or not in_class and ch in SYNTAX:
        return "\\" + ch
    if 0x21 <= c < 0x7F:
        return ch
    if c >= 0xA1 and not (0xD800 <= c < 0xE000) and unicodedata.category(ch)[0] in "LNPS":
        return ch
    return "\\u{%X}" % c


def _class(rs, limit):
    rs = _merge(rs)
    size = sum(hi - lo + 1 for lo, hi in rs)
    neg = ""
    if size > limit // 2:
        rs, neg = _complement(rs, limit), "^"
    body = []
    for lo, hi in rs:
        if lo == hi:
            body.append(_char(lo, True))
        elif hi == lo + 1:
            body.append(_char(lo, True) + _char(hi, True))
        else:
            body.append(_char(lo, True) + "-" + _char(hi, True))
    return "[" + neg + "".join(body) + "]"


class Translator:
    """Emits a JavaScript `u`-flag pattern equivalent to one parsed Python pattern."""

    def __init__(self, bytes_mode: bool, flags: int):
        self.limit = 256 if bytes_mode else MAXCP
        self.cats = ASC if bytes_mode else UNI
        if flags & (re.IGNORECASE | re.MULTILINE | re.LOCALE):
            raise ValueError(f"unsupported flags {flags}")
        self.dotall = bool(flags & re.DOTALL)

    def cat(self, name):
        table = {
            C.CATEGORY_WORD: ("word", False),
            C.CATEGORY_NOT_WORD: ("word", True),
            C.CATEGORY_DIGIT: ("digit", False),
            C.CATEGORY_NOT_DIGIT: ("digit", True),
            C.CATEGORY_SPACE: ("space", False),
            C.CATEGORY_NOT_SPACE: ("space", True),
        }
        key, neg = table[name]
        rs = self.cats[key]
        return _complement(rs, self.limit) if neg else rs

    def set_of(self, items):
        rs, negate = [], False
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                rs.append((av, av))
            elif op is C.RANGE:
                rs.append(av)
            elif op is C.CATEGORY:
                rs.extend(self.cat(av))
            else:
                raise ValueError(f"unsupported class item {op}")
        rs = _merge(rs)
        return _complement(rs, self.limit) if negate else rs

    def word_class(self):
        return _class(self.cats["word"], self.limit)

    def seq(self, sub) -> str:
        return "".join(self.node(op, av) for op, av in sub)

    def atom(self, sub) -> str:
        items = list(sub)
        s = self.seq(items)
        if len(items) == 1 and items[0][0] in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN, C.SUBPATTERN, C.BRANCH):
            return s
        return "(?:" + s + ")"

    def node(self, op, av) -> str:
        if op is C.LITERAL:
            return _char(av, False)
        if op is C.NOT_LITERAL:
            return _class(_complement([(av, av)], self.limit), self.limit)
        if op is C.ANY:
            return "[^]" if self.dotall else "[^\\n]"
        if op is C.IN:
            return _class(self.set_of(av), self.limit)
        if op is C.BRANCH:
            return "(?:" + "|".join(self.seq(alt) for alt in av[1]) + ")"
        if op is C.SUBPATTERN:
            _group, add, dele, sub = av
            if (add | dele) & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.LOCALE):
                raise ValueError("unsupported inline flags")
            return "(?:" + self.seq(sub) + ")"
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            if (lo, hi) == (0, C.MAXREPEAT):
                q = "*"
            elif (lo, hi) == (1, C.MAXREPEAT):
                q = "+"
            elif (lo, hi) == (0, 1):
                q = "?"
            elif hi == C.MAXREPEAT:
                q = "{%d,}" % lo
            elif lo == hi:
                q = "{%d}" % lo
            else:
                q = "{%d,%d}" % (lo, hi)
            return self.atom(sub) + q + ("?" if op is C.MIN_REPEAT else "")
        if op is C.AT:
            if av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
                return "^"
            if av is C.AT_END:
                return "(?=\\n?$)"
            if av is C.AT_END_STRING:
                return "$"
            w = self.word_class()
            if av is C.AT_BOUNDARY:
                return f"(?:(?<={w})(?!{w})|(?<!{w})(?={w}))"
            if av is C.AT_NON_BOUNDARY:
                return f"(?:(?<={w})(?={w})|(?<!{w})(?!{w}))"
            raise ValueError(f"unsupported anchor {av}")
        if op in (C.ASSERT, C.ASSERT_NOT):
            direction, sub = av
            look = {(C.ASSERT, 1): "?=", (C.ASSERT, -1): "?<=", (C.ASSERT_NOT, 1): "?!", (C.ASSERT_NOT, -1): "?<!"}
            return "(" + look[(op, direction)] + self.seq(sub) + ")"
        raise ValueError(f"unsupported regex node {op}")


def to_js(pattern) -> str:
    """The JavaScript (`u` flag) source equivalent to a Python pattern (str, bytes or compiled)."""
    if isinstance(pattern, re.Pattern):
        src, flags = pattern.pattern, pattern.flags
    else:
        src, flags = pattern, 0
    bytes_mode = isinstance(src, bytes)
    if bytes_mode:
        src = src.decode("latin-1")
        flags &= ~re.UNICODE
    tree = P.parse(src, flags)
    t = Translator(bytes_mode, tree.state.flags & ~(re.UNICODE | re.VERBOSE))
    out = t.seq(tree)
    return out


# ----------------------------------------------------------------------------------------
# Output helpers


def js(value) -> str:
    return json.dumps(value, ensure_ascii=True)


def write_ts(name: str, header: str, parts: list[str]) -> None:
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(header)
        f.write("\n".join(parts))
        f.write("\n")
    deno = shutil.which("deno")
    if deno:
        subprocess.run([deno, "fmt", "-q", path], check=True)
    print(f"wrote {path}", file=sys.stderr)


def version_line(what: str) -> str:
    return (
        f"// GENERATED by lib/tokenizer/gen_tables.py from {what} (Python {sys.version.split()[0]},"
        f" unicodedata {unicodedata.unidata_version}). Do not edit.\n"
    )


def lower_runs():
    """Python's lower() for code points >= U+1C80 as [first, last, step, delta] runs."""
    pairs = []
    for c in range(0x1C80, MAXCP):
        if 0xD800 <= c < 0xE000:
            continue
        low = chr(c).lower()
        if low != chr(c):
            assert len(low) == 1, hex(c)  # true for Python 3.11 above U+1C80
            pairs.append((c, ord(low) - c))
    runs = []
    for c, d in pairs:
        if runs:
            first, last, step, delta = runs[-1]
            if delta == d and (c - last == step or (first == last and c - last in (1, 2))):
                runs[-1] = [first, c, c - last if first == last else step, delta]
                continue
        runs.append([c, c, 1, d])
    # check
    table = {c: d for c, d in pairs}
    for first, last, step, delta in runs:
        for c in range(first, last + 1, step):
            assert table.pop(c) == delta
    assert not table
    return runs


# ----------------------------------------------------------------------------------------
# spaCy


def suffix_max_width(rx) -> int:
    """Max width of the suffix alternatives, checking that only `\\.\\.+$` is unbounded."""
    tree = P.parse(rx.pattern, rx.flags)
    assert len(tree) == 1 and tree[0][0] is C.BRANCH
    widest = 0
    for alt in tree[0][1][1]:
        lo, hi = P.SubPattern(tree.state, alt).getwidth()
        if hi >= C.MAXREPEAT:
            items = list(alt)
            assert len(items) == 3 and items[0] == (C.LITERAL, 46) and items[2] == (C.AT, C.AT_END)
            assert items[1][0] is C.MAX_REPEAT and items[1][1][:2] == (1, C.MAXREPEAT)
            assert list(items[1][1][2]) == [(C.LITERAL, 46)]
        else:
            widest = max(widest, hi)
    return widest


def url_pattern(tok):
    """spaCy's URL pattern with the user-info part simplified (same language, see URL_SRC)."""
    rx = tok.url_match.__self__
    frag = r"(?:\S+(?::\S*)?@)?"
    assert rx.pattern.count(frag) == 1, "spaCy's URL pattern changed: review the rewrite"
    fast = re.compile(rx.pattern.replace(frag, r"(?:\S+@)?"), rx.flags)
    for s in ["user:pass@example.com", "a:b@c.de", "x@y", ":@a.co", "http://a:b@c.com/x", "a@@b.com"]:
        assert bool(rx.match(s)) == bool(fast.match(s)), s
    return fast


def spacy_tables() -> None:
    tok = English().tokenizer
    rules = []
    for key in sorted(tok.rules):
        orths = [spec[ORTH] if ORTH in spec else spec["ORTH"] for spec in tok.rules[key]]
        rules.append([key, orths])
    parts = [
        "/**",
        f" * spaCy {spacy.__version__} English tokenizer rules (`spacy.lang.en.English().tokenizer`),",
        " * translated to JavaScript regex sources for the `u` flag. Python `$` is `(?=\\n?$)`.",
        " * @module",
        " */",
        "",
        "/** `prefix_search`: all prefixes joined as `^p1|^p2|...`. */",
        f"export const PREFIX_SRC = {js(to_js(tok.prefix_search.__self__))};",
        "",
        "/** `suffix_search`: all suffixes joined as `s1$|s2$|...`. */",
        f"export const SUFFIX_SRC = {js(to_js(tok.suffix_search.__self__))};",
        "",
        "/**",
        " * Longest match (code points) of every suffix alternative except `\\.\\.+$`, the only",
        " * unbounded one: a suffix match starts within this many characters of the end, or at",
        " * the start of a final run of dots.",
        " */",
        f"export const SUFFIX_MAX_WIDTH = {suffix_max_width(tok.suffix_search.__self__)};",
        "",
        "/** `infix_finditer`: all infixes joined as `i1|i2|...`. */",
        f"export const INFIX_SRC = {js(to_js(tok.infix_finditer.__self__))};",
        "",
        "/**",
        " * `url_match` (anchored by `^`; English has no `token_match`), with one exact rewrite:",
        " * the user-info part `(?:\\S+(?::\\S*)?@)?` is `(?:\\S+@)?`, which matches the same",
        " * strings (both sides are any non-space text before an `@`) without the quadratic",
        " * backtracking on long strings full of `:`. url_match is only used as a yes/no test.",
        " */",
        f"export const URL_SRC = {js(to_js(url_pattern(tok)))};",
        "",
        "/** Python `str.isspace()` as a JavaScript character class. */",
        f"export const PY_SPACE_CLASS = {js(_class(UNI['space'], MAXCP))};",
        "",
        "/**",
        " * Python `str.lower()` for code points >= U+1C80, as runs `[first, last, step, delta]`:",
        " * `c` in `first, first+step, ... last` lowers to `c + delta`. JavaScript's `toLowerCase`",
        " * agrees with Python below U+1C80 but also lowers characters added after Unicode 14.",
        " */",
        f"export const PY_LOWER_HIGH: ReadonlyArray<readonly [number, number, number, number]> = {js(lower_runs())};",
        "",
        "/** The tokenizer exceptions: `[text, [token texts...]]`, sorted by text. */",
        "export const SPECIAL_CASES: ReadonlyArray<readonly [string, readonly string[]]> = [",
    ]
    for key, orths in rules:
        parts.append(f"  [{js(key)}, {js(orths)}],")
    parts.append("];")
    write_ts("spacy_tables.ts", version_line(f"spaCy {spacy.__version__}"), parts)


# ----------------------------------------------------------------------------------------
# ftfy


def ftfy_tables() -> None:
    cd = ftfy.chardata
    decoding = {}
    for enc in cd.CHARMAP_ENCODINGS:
        table = bytes(range(256)).decode(enc)
        assert len(table) == 256
        decoding[enc] = table
    for enc in ("latin-1", "iso-8859-2", "macroman", "cp437"):
        assert "\ufffd" not in decoding[enc], enc  # fully defined: every byte decodes
    # strict windows-1252 (undefined bytes -> U+FFFD), for the latin-1 -> windows-1252 step
    strict1252 = bytes(range(256)).decode("windows-1252", errors="replace")

    ents = sorted(cd.HTML_ENTITIES.items())
    width = sorted(cd.WIDTH_MAP.items())
    lig = sorted(cd.LIGATURES.items())
    charrefs = sorted(html._invalid_charrefs.items())  # type: ignore[attr-defined]
    invalid_cp = sorted(html._invalid_codepoints)  # type: ignore[attr-defined]

    parts = [
        "/**",
        f" * ftfy {ftfy.__version__} data tables and regexes, translated for JavaScript (`u` flag).",
        " * Byte regexes (`*_BYTES_SRC`) run on binary strings (one char per byte, U+0000..U+00FF).",
        " * @module",
        " */",
        "",
        "/** `chardata.CHARMAP_ENCODINGS`, in the order ftfy tries them. */",
        f"export const CHARMAP_ENCODINGS = {js(list(cd.CHARMAP_ENCODINGS))} as const;",
        "",
        "/** For each encoding: the 256 characters that bytes 0x00..0xFF decode to. */",
        "export const DECODING_TABLES: Readonly<Record<string, string>> = {",
    ]
    for enc, table in decoding.items():
        parts.append(f"  {js(enc)}: {js(table)},")
    parts += [
        "};",
        "",
        "/** Strict windows-1252: bytes 0x00..0xFF, with U+FFFD for the 5 undefined bytes. */",
        f"export const WINDOWS_1252_STRICT = {js(strict1252)};",
        "",
        "/** `chardata.HTML_ENTITIES`: `[entity, text]` (e.g. `['&amp;', '&']`), incl. upper-case forms. */",
        "export const HTML_ENTITIES: ReadonlyArray<readonly [string, string]> = [",
    ]
    parts += [f"  [{js(k)}, {js(v)}]," for k, v in ents]
    parts += [
        "];",
        "",
        "/** Python `html._invalid_charrefs`: numeric character references replaced by a fixed text. */",
        "export const INVALID_CHARREFS: ReadonlyArray<readonly [number, string]> = [",
    ]
    parts += [f"  [{k}, {js(v)}]," for k, v in charrefs]
    parts += [
        "];",
        "",
        "/** Python `html._invalid_codepoints`: numeric character references that decode to nothing. */",
        f"export const INVALID_CODEPOINTS: readonly number[] = {js(invalid_cp)};",
        "",
        "/** `chardata.LIGATURES`: `[code point, replacement]`. */",
        "export const LIGATURES: ReadonlyArray<readonly [number, string]> = [",
    ]
    parts += [f"  [{k}, {js(v)}]," for k, v in lig]
    parts += [
        "];",
        "",
        "/** `chardata.WIDTH_MAP`: `[code point, replacement]` (fullwidth / halfwidth forms). */",
        "export const WIDTH_MAP: ReadonlyArray<readonly [number, string]> = [",
    ]
    parts += [f"  [{k}, {js(v)}]," for k, v in width]
    parts += [
        "];",
        "",
        "/** `chardata.CONTROL_CHARS`: code points removed by `remove_control_chars`. */",
        f"export const CONTROL_CHARS: readonly number[] = {js(sorted(cd.CONTROL_CHARS))};",
        "",
        "/** `badness.BADNESS_RE` (ftfy's mojibake detector). */",
        f"export const BADNESS_SRC = {js(to_js(ftfy.badness.BADNESS_RE))};",
        "",
        "/** `chardata.UTF8_DETECTOR_RE` (runs of characters that look like UTF-8 mojibake). */",
        f"export const UTF8_DETECTOR_SRC = {js(to_js(cd.UTF8_DETECTOR_RE))};",
        "",
        "/** `chardata.HTML_ENTITY_RE`. */",
        f"export const HTML_ENTITY_SRC = {js(to_js(cd.HTML_ENTITY_RE))};",
        "",
        "/** `fixes.ANSI_RE` (terminal escapes). */",
        f"export const ANSI_SRC = {js(to_js(ftfy.fixes.ANSI_RE))};",
        "",
        "/** `chardata.SINGLE_QUOTE_RE` and `DOUBLE_QUOTE_RE`. */",
        f"export const SINGLE_QUOTE_SRC = {js(to_js(cd.SINGLE_QUOTE_RE))};",
        f"export const DOUBLE_QUOTE_SRC = {js(to_js(cd.DOUBLE_QUOTE_RE))};",
        "",
        "/** `chardata.ALTERED_UTF8_RE` (bytes). */",
        f"export const ALTERED_UTF8_BYTES_SRC = {js(to_js(cd.ALTERED_UTF8_RE))};",
        "",
        "/** `chardata.LOSSY_UTF8_RE` (bytes). */",
        f"export const LOSSY_UTF8_BYTES_SRC = {js(to_js(cd.LOSSY_UTF8_RE))};",
        "",
        "/** `fixes.A_GRAVE_WORD_RE` (bytes). */",
        f"export const A_GRAVE_WORD_BYTES_SRC = {js(to_js(ftfy.fixes.A_GRAVE_WORD_RE))};",
    ]
    write_ts("ftfy_tables.ts", version_line(f"ftfy {ftfy.__version__}"), parts)


if __name__ == "__main__":
    if spacy.__version__.split(".")[:2] != ["3", "8"] or ftfy.__version__ != "6.3.1":
        print(f"warning: expected spaCy 3.8 / ftfy 6.3.1, have {spacy.__version__} / {ftfy.__version__}")
    spacy_tables()
    ftfy_tables()
