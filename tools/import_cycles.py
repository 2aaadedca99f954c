#!/usr/bin/env python3
"""Import cycles between the source files of each crate (issue 14).

For every crate under crates/ (its src/ only), each .rs file reached through
`mod x;` declarations from lib.rs / main.rs is a node. A file refers to
another when it names an item through a path that resolves into it:

  * `use crate::a::b`, `use super::x`, `use self::x`, `use child::x` (and
    `pub use` re-exports of any of those), `use` groups expanded;
  * `crate::a::b`, `super::x`, `self::x` and `child::x` paths in code.

`super` and `self` resolve relative to the (possibly inline) module the path
is written in; `child` is a module that module declares. A path is
attributed to the deepest module it names that lives in a file (an inline
`mod m { .. }` belongs to its file). A `mod child;` declaration is not a
reference. `#[cfg(test)]` items (test modules, test-only imports) are
skipped, as are comments, strings and `$crate` paths in macro bodies
(those belong to the expansion site).

Strongly connected components of more than one file are printed, each with
the references that close it; the exit status is 1 when there is any.

Usage: tools/import_cycles.py [REPO_ROOT]
"""

import os
import sys

PUNCT2 = ("::", "->", "=>")


def tokenize(text):
    """Yield (token, line) with comments, strings and char literals dropped."""
    i, n, line = 0, len(text), 1
    toks = []
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c.isspace():
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        line += 1
                    i += 1
            continue
        # raw strings r"..", r#".."#, br#".."#
        if c in "rb":
            j = i + 1 if c == "r" else (i + 2 if text.startswith("br", i) else -1)
            if j > 0:
                k = j
                while k < n and text[k] == "#":
                    k += 1
                if k < n and text[k] == '"' and (c == "r" or text[i + 1] == "r"):
                    hashes = k - j
                    end = text.find('"' + "#" * hashes, k + 1)
                    end = n if end < 0 else end + 1 + hashes
                    line += text.count("\n", i, end)
                    i = end
                    continue
        if c == '"' or (c == "b" and text.startswith('b"', i)):
            i = i + 1 if c == '"' else i + 2
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                if i < n and text[i] == "\n":
                    line += 1
                i += 1
            i += 1
            continue
        if c == "'" or (c == "b" and text.startswith("b'", i)):
            s = i + 1 if c == "'" else i + 2
            if s < n and text[s] == "\\":
                e = text.find("'", s + 2)
                i = n if e < 0 else e + 1
                continue
            if s + 1 < n and text[s + 1] == "'":
                i = s + 2
                continue
            # a lifetime / label
            i = s
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
            continue
        if c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word.startswith("r#"):
                word = word[2:]
            toks.append((word, line))
            i = j
            continue
        if c.isdigit():
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_."):
                if text[j] == "." and not (j + 1 < n and text[j + 1].isdigit()):
                    break
                j += 1
            toks.append(("0", line))
            i = j
            continue
        two = text[i : i + 2]
        if two in PUNCT2:
            toks.append((two, line))
            i += 2
            continue
        toks.append((c, line))
        i += 1
    return toks


def is_ident(t):
    return t[0].isalpha() or t[0] == "_"


class Module:
    def __init__(self, path, file, parent):
        self.path = path  # tuple of names from the crate root
        self.file = file
        self.parent = parent
        self.children = {}  # name -> Module


def skip_attr(toks, i):
    """toks[i] is '#': return the index after the attribute and its text."""
    j = i + 1
    if j < len(toks) and toks[j][0] == "!":
        j += 1
    if j >= len(toks) or toks[j][0] != "[":
        return i + 1, ""
    depth, k = 0, j
    while k < len(toks):
        if toks[k][0] == "[":
            depth += 1
        elif toks[k][0] == "]":
            depth -= 1
            if depth == 0:
                break
        k += 1
    return k + 1, " ".join(t for t, _ in toks[j + 1 : k])


def is_test_cfg(attr):
    return attr.replace(" ", "") == "cfg(test)"


def skip_item(toks, i):
    """Skip one item starting at toks[i]; return the index after it."""
    first = toks[i][0] if i < len(toks) else ""
    depth = 0
    k = i
    while k < len(toks):
        t = toks[k][0]
        if t in "([{":
            depth += 1
        elif t in ")]}":
            depth -= 1
            if depth == 0 and t == "}" and first != "use":
                return k + 1
        elif t == ";" and depth == 0:
            return k + 1
        k += 1
    return k


def parse_use_tree(toks, i, prefix, out, line):
    """Parse a use tree at toks[i]; append full paths to out. Return index."""
    path = list(prefix)
    while i < len(toks):
        t = toks[i][0]
        if t == "{":
            i += 1
            while i < len(toks) and toks[i][0] != "}":
                j = parse_use_tree(toks, i, path, out, toks[i][1])
                i = j if j > i else i + 1
                if i < len(toks) and toks[i][0] == ",":
                    i += 1
            return i + 1
        if t == "*":
            out.append((tuple(path), line, True))
            return i + 1
        if t == "::":
            i += 1
            continue
        if t == "$":
            path.append("$")
            i += 1
            continue
        if is_ident(t):
            if t == "self" and path:
                i += 1
                continue
            path.append(t)
            i += 1
            if i < len(toks) and toks[i][0] == "as":
                i += 2
            if i < len(toks) and toks[i][0] == "::":
                continue
            out.append((tuple(path), line, False))
            return i
        return i
    return i


def scan_file(file, module, macros, queue):
    with open(file, encoding="utf-8") as f:
        toks = tokenize(f.read())
    refs = []  # (module-context, path tuple, line)
    # stack of (Module, brace depth at which it opened)
    stack = [(module, 0)]
    depth = 0
    i = 0
    pending_test = False
    pending_export = False
    while i < len(toks):
        t, line = toks[i]
        cur = stack[-1][0]
        if t == "#":
            i, attr = skip_attr(toks, i)
            if is_test_cfg(attr):
                pending_test = True
            if attr.replace(" ", "") == "macro_export":
                pending_export = True
            continue
        if pending_export and t == "macro_rules" and i + 2 < len(toks):
            # `#[macro_export]` puts the macro at the crate root, yet it
            # lives (and is referred to) in this file.
            macros[toks[i + 2][0]] = file
        pending_export = False
        if pending_test:
            pending_test = False
            i = skip_item(toks, i)
            continue
        if t == "{":
            depth += 1
            i += 1
            continue
        if t == "}":
            if len(stack) > 1 and stack[-1][1] == depth:
                stack.pop()
            depth -= 1
            i += 1
            continue
        if t == "mod" and i + 1 < len(toks) and is_ident(toks[i + 1][0]):
            name = toks[i + 1][0]
            nxt = toks[i + 2][0] if i + 2 < len(toks) else ""
            child = Module(cur.path + (name,), None, cur)
            cur.children[name] = child
            if nxt == ";":
                child.file = child_file(cur, name)
                queue.append(child)
                i += 3
                continue
            if nxt == "{":
                child.file = file
                depth += 1
                stack.append((child, depth))
                i += 3
                continue
        if t == "use":
            out = []
            j = i + 1
            if j < len(toks) and toks[j][0] == "::":
                j += 1
            j = parse_use_tree(toks, j, (), out, line)
            for path, ln, _glob in out:
                refs.append((cur, path, ln))
            i = j
            continue
        if t == "$" and i + 1 < len(toks) and toks[i + 1][0] == "crate":
            i += 2
            continue
        if is_ident(t) and not (i > 0 and toks[i - 1][0] == "::"):
            if i + 1 < len(toks) and toks[i + 1][0] == "::":
                path = [t]
                j = i + 1
                while (
                    j + 1 < len(toks)
                    and toks[j][0] == "::"
                    and is_ident(toks[j + 1][0])
                ):
                    path.append(toks[j + 1][0])
                    j += 2
                refs.append((cur, tuple(path), line))
                i = j
                continue
        i += 1
    return refs


def child_file(parent, name):
    """The file of `mod name;` declared in module `parent`."""
    pfile = parent.file
    d = os.path.dirname(pfile)
    base = os.path.basename(pfile)
    # the directory holding parent's children
    inline = []
    m = parent
    while m.parent is not None and m.file == m.parent.file:
        inline.append(m.path[-1])
        m = m.parent
    if base == "mod.rs" or m.parent is None:
        cdir = d
    else:
        cdir = os.path.join(d, os.path.splitext(base)[0])
    cdir = os.path.join(cdir, *reversed(inline))
    a = os.path.join(cdir, name + ".rs")
    b = os.path.join(cdir, name, "mod.rs")
    return a if os.path.exists(a) or not os.path.exists(b) else b


def resolve(ctx, path):
    """Absolute module path of a path written in module ctx, or None."""
    if not path:
        return None
    head = path[0]
    if head == "crate":
        return path[1:]
    if head in ("super", "self"):
        base = ctx.path
        k = 0
        while k < len(path) and path[k] in ("super", "self"):
            if path[k] == "super":
                base = base[:-1]
            k += 1
        return base + path[k:]
    if head in ctx.children:
        return ctx.path + path
    return None


def crate_graph(root_file):
    root = Module((), root_file, None)
    queue = [root]
    modules = {}
    refs = []
    macros = {}
    while queue:
        m = queue.pop()
        if not os.path.exists(m.file):
            continue
        refs.extend(scan_file(m.file, m, macros, queue))

    # every module (file or inline), by absolute path
    def walk(m):
        modules[m.path] = m
        for c in m.children.values():
            walk(c)

    walk(root)
    edges = {}
    for ctx, path, line in refs:
        ab = resolve(ctx, path)
        if ab is None:
            continue
        k = len(ab)
        while k > 0 and ab[:k] not in modules:
            k -= 1
        target = modules[ab[:k]].file
        if len(ab) == k + 1 and k == 0 and ab[0] in macros:
            target = macros[ab[0]]
        src = ctx.file
        if target == src:
            continue
        edges.setdefault(src, {}).setdefault(target, []).append(
            (line, "::".join(path))
        )
    files = {m.file for m in modules.values()}
    return files, edges


def sccs(nodes, edges):
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in sorted(nodes):
        if v not in index:
            strong(v)
    return out


def main():
    top = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    crates_dir = os.path.join(top, "crates")
    found = 0
    for crate in sorted(os.listdir(crates_dir)):
        src = os.path.join(crates_dir, crate, "src")
        for root in ("lib.rs", "main.rs"):
            rf = os.path.join(src, root)
            if not os.path.exists(rf):
                continue
            files, edges = crate_graph(rf)
            for comp in sccs(files, edges):
                if len(comp) < 2:
                    continue
                found += 1
                comp = sorted(comp)
                print(f"cycle in {crate} ({root}): {len(comp)} files")
                for f in comp:
                    for g in sorted(edges.get(f, {})):
                        if g in comp:
                            line, p = edges[f][g][0]
                            more = len(edges[f][g]) - 1
                            extra = f" (+{more} more)" if more else ""
                            print(
                                f"  {os.path.relpath(f, top)}:{line} -> "
                                f"{os.path.relpath(g, top)}  [{p}]{extra}"
                            )
    if found:
        print(f"{found} import cycle(s) between files")
        return 1
    print("no import cycles between files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
