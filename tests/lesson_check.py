#!/usr/bin/python3
"""Checks a lesson written by `backprop step --format html` (tests/cli_lesson.sh).

usage: lesson_check.py LESSON.html TRACE.txt [--expect TEXT]... [--terms WORD]...

- well-formed: the page parses as XML (it is written XHTML-compatible) and
  with html.parser with every non-void element closed in order;
- every formula of the text trace TRACE.txt (`backprop step` in text mode,
  same options) is in the page as a MathML formula with that text under it;
- every neuron and weight the trace names has an element with its id;
- no external URL: the only URIs are the XML namespace names, and only as
  xmlns values; no src/href other than "#fragment" links, no url() but url(#…);
- each --expect TEXT occurs in a plain-text formula line, each --terms WORD
  in the page.
"""
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

NAMESPACES = {"http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg",
              "http://www.w3.org/1998/Math/MathML"}
VOID = {"meta", "br", "img", "input", "link", "hr", "area", "base", "col", "embed",
        "source", "track", "wbr"}
failures = []


def fail(msg):
    failures.append(msg)


class Balance(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass  # <circle/> in SVG, <meta/>: closed on the spot

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            fail("html.parser: </%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
        else:
            self.stack.pop()


def local(tag):
    return tag.rsplit("}", 1)[-1]


def main():
    args = sys.argv[1:]
    page_path, trace_path = args[0], args[1]
    expects, terms = [], []
    i = 2
    while i < len(args):
        (expects if args[i] == "--expect" else terms).append(args[i + 1])
        i += 2
    page = open(page_path, encoding="utf-8").read()
    trace = open(trace_path, encoding="utf-8").read()

    try:
        root = ET.fromstring(page.replace("<!DOCTYPE html>", "", 1))
    except ET.ParseError as e:
        print("lesson_check: %s is not well-formed: %s" % (page_path, e))
        return 1
    if root.tag != "{http://www.w3.org/1999/xhtml}html":
        fail("root element is %s" % root.tag)
    b = Balance()
    b.feed(page)
    b.close()
    if b.stack:
        fail("html.parser: unclosed %s" % b.stack)

    # Formulas: MathML plus the plain line; the set of plain lines covers the trace.
    plains = []
    for div in root.iter("{http://www.w3.org/1999/xhtml}div"):
        if "f" in (div.get("class") or "").split():
            kids = list(div)
            if len(kids) != 2 or local(kids[0].tag) != "math" or len(list(kids[0].iter())) < 3:
                fail("formula block without MathML: %s" % ET.tostring(div)[:120])
            plain = "".join(kids[-1].itertext())
            if not plain.strip():
                fail("formula block without its plain line")
            plains.append(plain)
    want = []
    for line in trace.splitlines():
        if line.startswith("    ") and line.strip() != "…":
            want += [p.strip() for p in line.strip().split("    ") if p.strip()]
    norm = {p.replace(", ", " ") for p in plains}  # the page separates the result list by commas
    missing = [f for f in want if f not in plains and f.replace(", ", " ") not in norm]
    for f in missing[:5]:
        fail("formula missing from the page: %s" % f)
    if not want:
        fail("the trace has no formulas")

    # Ids of every neuron and weight the trace mentions.
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    for w in sorted(set(re.findall(r"\bw(\d+)'", trace)), key=int):
        if "w" + w not in ids:
            fail("no element with id w%s" % w)
    for n in sorted(set(re.findall(r"\b(?:s|a)_([iho]\d+(?:_\d+)?)\b", trace))):
        if "n-" + n not in ids:
            fail("no element with id n-%s" % n)

    # No external URL.
    for m in re.finditer(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>)]*", page):
        before = page[max(0, m.start() - 7):m.start()]
        if m.group(0) not in NAMESPACES or before != 'xmlns="':
            fail("external URL: %s" % m.group(0))
    for e in root.iter():
        for k, v in e.attrib.items():
            if local(k) in ("src", "href", "action", "data", "poster") and not v.startswith("#"):
                fail("<%s %s=\"%s\">" % (local(e.tag), local(k), v))
            if "url(" in v and not re.fullmatch(r"url\(#[\w-]+\)", v):
                fail("url() in %s" % v)
    bare = page
    for ns in NAMESPACES:
        bare = bare.replace('xmlns="%s"' % ns, "")
    if re.search(r"url\((?!#)|@import|//[a-z0-9.-]+\.[a-z]{2,}/", bare):
        fail("a url(), @import or //host/ in the page")

    for x in expects:
        if not any(x in p for p in plains):
            fail("no formula with %r" % x)
    text = "".join(root.itertext())
    for t in terms:
        if t not in text:
            fail("term %r missing" % t)

    for f in failures:
        print("lesson_check: %s: %s" % (page_path, f))
    return 1 if failures else 0


sys.exit(main())
