#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""stack_report.py - worst-case stack depth of firmware entry points, from
the call graphs GCC writes with -fstack-usage -fcallgraph-info=su (one .ci
file per object), checked against a budget.

  stack_report.py CONF DIR... [--budget BYTES]

CONF lines (`#` starts a comment):
  entry NAME             a thread-mode root (main)
  core1 NAME BYTES       a root that runs on the second core, on a stack of
                         its own of BYTES (no interrupts there): checked
                         against that stack, not the budget
  isr NAME               an interrupt handler: the deepest one is added once
                         on top of the deepest thread path, with two
                         exception frames of FRAME bytes each
  frame BYTES            bytes the core pushes per exception entry
                         (Cortex-M33 with the FPU context: 104)
  indirect CALLER T...   the functions an indirect call in CALLER can reach
                         (shell-style patterns over function names)
  extern NAME BYTES      the stack of a function without a call graph
                         (C library, compiler runtime, assembly)
  budget BYTES           the limit (also --budget)
  exclude GLOB           skip .ci files whose path matches (test programs
                         built in the same tree)
  reentrant PATTERN N    a function matching may be on one path up to N
                         times (bounded re-entry the code guarantees, e.g.
                         a nested bus service inside a command); a deeper
                         call is not followed
  guard NAME T...        while NAME is on the path, calls to T (patterns)
                         are not followed: a runtime guard the graph cannot
                         see (one card command at a time, a cipher that
                         wraps another); say why next to the line

Every function on a path from a root must be known: a call without a
graph or an `extern` line, an indirect call without an `indirect` line,
recursion, or a frame of unbounded dynamic size is an error, because a
worst case that leaves them out is no worst case.

Exit status: 0 within budget, 1 over budget or an unknown on a path,
2 unreadable input.
"""
import fnmatch
import os
import re
import sys

NODE = re.compile(r'node:\s*\{\s*title:\s*"([^"]*)"\s*label:\s*"([^"]*)"')
EDGE = re.compile(r'edge:\s*\{\s*sourcename:\s*"([^"]*)"\s*targetname:\s*"([^"]*)"')
BYTES = re.compile(r"\\n(\d+) bytes \(([^)]*)\)")
INDIRECT = "__indirect_call"


class StackError(Exception):
    pass


class Graph:
    def __init__(self):
        self.frame = {}      # name -> bytes (defined functions)
        self.kind = {}       # name -> static / dynamic / dynamic,bounded
        self.where = {}      # name -> file:line
        self.calls = {}      # name -> set of callee names
        self.indirect = set()  # names making an indirect call

    def load_ci(self, path):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in NODE.finditer(text):
            title, label = m.group(1), m.group(2)
            if title == INDIRECT:
                continue
            b = BYTES.search(label)
            if b is None:
                self.calls.setdefault(title, set())
                continue
            parts = label.split("\\n")
            self.frame[title] = int(b.group(1))
            self.kind[title] = b.group(2)
            self.where[title] = parts[1] if len(parts) > 1 else path
            self.calls.setdefault(title, set())
        for m in EDGE.finditer(text):
            src, dst = m.group(1), m.group(2)
            if dst == INDIRECT:
                self.indirect.add(src)
            else:
                self.calls.setdefault(src, set()).add(dst)


def read_conf(path):
    conf = {"entry": [], "core1": [], "isr": [], "frame": 0, "indirect": [], "extern": {}, "budget": None,
            "exclude": [], "guard": [], "reentrant": []}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            w = raw.split("#", 1)[0].split()
            if not w:
                continue
            try:
                if w[0] in ("entry", "isr") and len(w) == 2:
                    conf[w[0]].append(w[1])
                elif w[0] in ("frame", "budget") and len(w) == 2:
                    conf[w[0]] = int(w[1], 0)
                elif w[0] == "indirect" and len(w) >= 3:
                    conf["indirect"].append((w[1], w[2:]))
                elif w[0] == "reentrant" and len(w) == 3:
                    conf["reentrant"].append((w[1], int(w[2], 0)))
                elif w[0] == "guard" and len(w) >= 3:
                    conf["guard"].append((w[1], w[2:]))
                elif w[0] == "exclude" and len(w) == 2:
                    conf["exclude"].append(w[1])
                elif w[0] == "core1" and len(w) == 3:
                    conf["core1"].append((w[1], int(w[2], 0)))
                elif w[0] == "extern" and len(w) == 3:
                    conf["extern"][w[1]] = int(w[2], 0)
                else:
                    raise ValueError
            except ValueError:
                raise StackError("%s:%d: cannot read %r" % (path, n, raw.rstrip()))
    return conf


def resolve(graph, conf):
    """Add the configured indirect targets as calls; return the callers whose
    indirect calls stay unresolved."""
    defined = sorted(graph.frame)
    unresolved = set()
    for caller in graph.indirect:
        targets = set()
        matched = False
        for pat, tpats in conf["indirect"]:
            if fnmatch.fnmatchcase(caller, pat):
                matched = True
                for tp in tpats:
                    hits = [d for d in defined if fnmatch.fnmatchcase(d, tp)]
                    if not hits and tp in conf["extern"]:
                        hits = [tp]
                    targets.update(hits)
        if matched:
            graph.calls[caller].update(targets)
        else:
            unresolved.add(caller)
    return unresolved


def worst(graph, conf, root, unresolved, problems):
    """(depth, path) of the deepest call chain from root."""
    memo = {}
    active = []

    def allowance(fn):
        for pat, n in conf["reentrant"]:
            if fnmatch.fnmatchcase(fn, pat):
                return n
        return 1

    def visit(fn, inside, nest):
        key = (fn, inside, nest)
        if key in memo:
            return memo[key]
        if fn in active and allowance(fn) == 1:
            cycle = active[active.index(fn):] + [fn]
            problems.add("recursion: " + " -> ".join(cycle))
            return (0, [fn])
        if fn not in graph.frame:
            if fn in conf["extern"]:
                memo[key] = (conf["extern"][fn], [fn])
            else:
                problems.add("no call graph for %s (add an extern line)" % fn)
                memo[key] = (0, [fn + "?"])
            return memo[key]
        if graph.kind.get(fn, "static") == "dynamic":
            problems.add("unbounded dynamic frame in %s (%s)" % (fn, graph.where.get(fn)))
        if fn in unresolved:
            problems.add("unresolved indirect call in %s (%s)" % (fn, graph.where.get(fn)))
        for pat, targets in conf["guard"]:
            if fnmatch.fnmatchcase(fn, pat):
                inside = inside | frozenset(targets)
        if allowance(fn) > 1:
            counts = dict(nest)
            counts[fn] = counts.get(fn, 0) + 1
            nest = frozenset(counts.items())
        active.append(fn)
        best = (0, [])
        depth_of = dict(nest)
        for callee in sorted(graph.calls.get(fn, ())):
            if any(fnmatch.fnmatchcase(callee, t) for t in inside):
                continue  # guarded at run time (a guard line)
            if allowance(callee) > 1 and depth_of.get(callee, 0) >= allowance(callee):
                continue  # re-entered as often as the code allows (a reentrant line)
            d = visit(callee, inside, nest)
            if d[0] > best[0]:
                best = d
        active.pop()
        memo[key] = (graph.frame[fn] + best[0], [fn] + best[1])
        return memo[key]

    return visit(root, frozenset(), frozenset())


def main(argv):
    args, budget = [], None
    it = iter(argv[1:])
    for a in it:
        if a == "--budget":
            budget = int(next(it, "0"), 0)
        else:
            args.append(a)
    if len(args) < 2:
        sys.stderr.write("usage: stack_report.py CONF DIR... [--budget BYTES]\n")
        return 2
    try:
        conf = read_conf(args[0])
        graph = Graph()
        count = 0
        for d in args[1:]:
            for dirpath, _, files in os.walk(d):
                for name in sorted(files):
                    path = os.path.join(dirpath, name)
                    if name.endswith(".ci") and not any(
                            fnmatch.fnmatchcase(path, g) for g in conf["exclude"]):
                        graph.load_ci(path)
                        count += 1
        if count == 0:
            raise StackError("no .ci files under %s (build with -fcallgraph-info=su)"
                             % " ".join(args[1:]))
        if budget is None:
            budget = conf["budget"]
        if budget is None or not conf["entry"]:
            raise StackError("the configuration needs an entry and a budget")
    except (OSError, StackError) as e:
        sys.stderr.write("stack_report: %s\n" % e)
        return 2

    unresolved = resolve(graph, conf)
    problems = set()
    thread = (0, [])
    for root in conf["entry"]:
        if root not in graph.frame:
            problems.add("entry %s has no call graph" % root)
            continue
        d = worst(graph, conf, root, unresolved, problems)
        print("entry %-24s %6d bytes: %s" % (root, d[0], " > ".join(
            "%s(%d)" % (f, graph.frame.get(f, conf["extern"].get(f, 0))) for f in d[1])))
        thread = max(thread, d, key=lambda x: x[0])
    over_core1 = []
    for root, limit in conf["core1"]:
        if root not in graph.frame:
            problems.add("core1 %s has no call graph" % root)
            continue
        d = worst(graph, conf, root, unresolved, problems)
        print("core1 %-24s %6d bytes of its %d-byte stack: %s" % (root, d[0], limit, " > ".join(
            "%s(%d)" % (f, graph.frame.get(f, conf["extern"].get(f, 0))) for f in d[1])))
        if d[0] > limit:
            over_core1.append("core1 %s over its stack by %d bytes" % (root, d[0] - limit))
    irq = (0, [])
    for root in conf["isr"]:
        if root not in graph.frame:
            problems.add("isr %s has no call graph" % root)
            continue
        d = worst(graph, conf, root, unresolved, problems)
        print("isr   %-24s %6d bytes: %s" % (root, d[0], " > ".join(d[1])))
        irq = max(irq, d, key=lambda x: x[0])
    total = thread[0] + (irq[0] + 2 * conf["frame"] if conf["isr"] else 0)
    print("worst case: %d bytes (thread %d + interrupt %d + %d exception frames of %d) "
          "of a %d-byte budget" % (total, thread[0], irq[0], 2 if conf["isr"] else 0,
                                    conf["frame"], budget))
    rc = 0
    for p in sorted(problems):
        sys.stderr.write("stack_report: %s\n" % p)
        rc = 1
    for p in over_core1:
        sys.stderr.write("stack_report: %s\n" % p)
        rc = 1
    if total > budget:
        sys.stderr.write("stack_report: over budget by %d bytes\n" % (total - budget))
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
