#!/usr/bin/env python3
"""Turns the syscall lists in policy/ (seccomp-*.list) into one C header of
tables that src/common/seccomp.c compiles into the binaries.

The list format (policy/README.md has the long form):

    # a comment                      whole-line comments and blank lines
    %include <linux/loop.h>          headers the constants below come from
    %default kill | allow            what an unlisted syscall gets
    %listed allow | EPERM            what a listed syscall gets
    %define NAME(a,b) EXPR           a C macro for the conditions below
    %if OPTION / %endif              lines only for builds with --with OPTION
    %variant NAME -SYSCALL...        a second filter TAG_NAME: this list without
                                     the rules for those syscalls (a profile's)
    NAME [COND...] [-> ERRNO]  # why  one syscall (one rule) per line

A COND compares one argument of the call (a0..a5) with a C expression (no
spaces): `a1==LOOP_CONFIGURE`, `a0!=0`, `a2&S_IFMT==S_IFBLK` (masked).
Several CONDs on one line must all hold; several lines for the same NAME
are alternatives. `-> ENOSYS` answers with that errno instead of the
list's action. Every syscall line needs its comment: the lists are what a
reviewer reads. Names are resolved per architecture at run time by
libseccomp, not here.
"""
import argparse
import re
import sys

NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
EXPR = r"[A-Za-z0-9_|()<>,+~]+"
COND_EQ = re.compile(r"^a([0-5])(==|!=)(" + EXPR + r")$")
COND_MASK = re.compile(r"^a([0-5])&(" + EXPR + r")==(" + EXPR + r")$")
ERRNO = re.compile(r"^E[A-Z0-9]+$")


class ListError(Exception):
    pass


def parse(path, options):
    rules, includes, defines = [], [], []
    default = listed = None
    variants = []
    active = [True]
    seen = set()
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            where = f"{path}:{lineno}"
            code, _, comment = raw.partition("#")
            code = code.strip()
            if not code:
                continue
            words = code.split()
            if words[0] == "%if":
                if len(words) != 2:
                    raise ListError(f"{where}: %if takes one option name")
                active.append(active[-1] and words[1] in options)
                continue
            if words[0] == "%endif":
                if len(active) == 1:
                    raise ListError(f"{where}: %endif without %if")
                active.pop()
                continue
            if words[0] == "%include":
                if len(words) != 2 or not re.match(r"^<[a-z0-9_/.]+>$", words[1]):
                    raise ListError(f"{where}: %include <header.h>")
                includes.append(words[1])
                continue
            if words[0] == "%define":
                m = re.match(r"^%define\s+([A-Z_][A-Z0-9_]*(?:\([a-z,]+\))?)\s+(.+)$", code)
                if not m:
                    raise ListError(f"{where}: %define NAME[(args)] C-EXPRESSION")
                defines.append((m.group(1), m.group(2)))
                continue
            if words[0] == "%variant":
                if len(words) < 3 or not re.match(r"^[a-z]+$", words[1]) or \
                        not all(x.startswith("-") and NAME.match(x[1:]) for x in words[2:]):
                    raise ListError(f"{where}: %variant NAME -SYSCALL...")
                if not comment.strip():
                    raise ListError(f"{where}: %variant {words[1]} has no comment saying why")
                variants.append((words[1], {x[1:] for x in words[2:]}, where))
                continue
            if words[0] == "%default":
                if words[1:] not in (["kill"], ["allow"]):
                    raise ListError(f"{where}: %default kill | allow")
                default = words[1]
                continue
            if words[0] == "%listed":
                if len(words) != 2 or not (words[1] == "allow" or ERRNO.match(words[1])):
                    raise ListError(f"{where}: %listed allow | ERRNO")
                listed = words[1]
                continue
            if words[0].startswith("%"):
                raise ListError(f"{where}: unknown directive {words[0]}")
            if not comment.strip():
                raise ListError(f"{where}: {words[0]} has no comment saying why it is listed")
            name, rest, err = words[0], words[1:], None
            if not NAME.match(name):
                raise ListError(f"{where}: '{name}' is not a syscall name")
            if len(rest) >= 2 and rest[-2] == "->":
                err = rest[-1]
                rest = rest[:-2]
                if not ERRNO.match(err):
                    raise ListError(f"{where}: '{err}' is not an errno name")
            conds = []
            for c in rest:
                m = COND_MASK.match(c)
                if m:
                    conds.append((int(m.group(1)), "SCMP_CMP_MASKED_EQ", m.group(2), m.group(3)))
                    continue
                m = COND_EQ.match(c)
                if m:
                    op = "SCMP_CMP_EQ" if m.group(2) == "==" else "SCMP_CMP_NE"
                    conds.append((int(m.group(1)), op, "0", m.group(3)))
                    continue
                raise ListError(f"{where}: cannot read condition '{c}' (aN==EXPR, aN!=EXPR, aN&MASK==EXPR)")
            if len({a for a, _, _, _ in conds}) != len(conds):
                raise ListError(f"{where}: one comparison per argument (libseccomp)")
            if not active[-1]:
                continue
            key = (name, tuple(conds), err)
            if key in seen:
                raise ListError(f"{where}: {name} listed twice")
            if not conds and any(r["name"] == name and not r["conds"] for r in rules):
                raise ListError(f"{where}: {name} listed twice")
            seen.add(key)
            rules.append({"name": name, "conds": conds, "err": err, "where": where})
    if len(active) != 1:
        raise ListError(f"{path}: %if without %endif")
    if default is None or listed is None:
        raise ListError(f"{path}: needs %default and %listed")
    names = {r["name"] for r in rules}
    for r in rules:
        # libseccomp lets a rule without conditions win over the others
        if not r["conds"] and any(o["name"] == r["name"] and o is not r for o in rules):
            raise ListError(f"{r['where']}: {r['name']} is listed without conditions and with them")
    return {"rules": rules, "includes": includes, "defines": defines, "default": default, "listed": listed,
            "count": len(names), "variants": variants}


def variant(l, drop, where):
    """The list l without the rules for the syscalls in drop."""
    for name in drop:
        if not any(r["name"] == name for r in l["rules"]):
            raise ListError(f"{where}: %variant drops {name}, which the list does not name")
    rules = [r for r in l["rules"] if r["name"] not in drop]
    return dict(l, rules=rules, count=len({r["name"] for r in rules}), defines=[], includes=[], variants=[])


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit(lists, out):
    w = out.write
    w("/* Generated by policy/gen-filters.py from policy/seccomp-*.list. Do not edit:\n"
      " * edit the lists. Included by src/common/seccomp.c only. */\n")
    # libseccomp's <seccomp.h> is shadowed by the project's src/common/seccomp.h
    # on the include path; this header is found after src/common (meson adds
    # its build directory last), so include_next reaches the library's.
    w("#pragma once\n#pragma GCC system_header\n#include_next <seccomp.h>\n")
    includes = []
    for _, l in lists:
        for i in l["includes"]:
            if i not in includes:
                includes.append(i)
    for i in includes:
        w(f"#include {i}\n")
    for _, l in lists:
        for name, expr in l["defines"]:
            w(f"#define {name} {expr}\n")
    w("\n")
    for tag, l in lists:
        w(f"static const struct cc_sc_rule cc_sc_{tag}_rules[] = {{\n")
        for r in l["rules"]:
            conds = ", ".join(f"{{ {a}, {op}, (uint64_t)({m}), (uint64_t)({v}) }}" for a, op, m, v in r["conds"])
            err = r["err"] or "0"
            w(f"\t{{ {c_string(r['name'])}, {err}, {len(r['conds'])}, {{ {conds or '{ 0 }'} }}, "
              f"{c_string(r['where'])} }},\n")
        w("};\n\n")
    w("static const struct cc_sc_list cc_sc_lists[] = {\n")
    for tag, l in lists:
        listed = "0" if l["listed"] == "allow" else l["listed"]
        w(f"\t[CC_FILTER_{tag.upper()}] = {{ {c_string(tag)}, {str(l['default'] == 'allow').lower()}, {listed}, "
          f"cc_sc_{tag}_rules, ARRAY_SIZE(cc_sc_{tag}_rules), {l['count']} }},\n")
    w("};\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--with", dest="options", action="append", default=[], help="enable %%if OPTION blocks")
    ap.add_argument("--count", action="store_true", help="print each list's number of distinct syscalls")
    ap.add_argument("-o", "--output")
    ap.add_argument("lists", nargs="+", metavar="TAG=FILE")
    a = ap.parse_args()
    lists = []
    try:
        for spec in a.lists:
            tag, _, path = spec.partition("=")
            l = parse(path, set(a.options))
            lists.append((tag, l))
            for vname, drop, where in l["variants"]:
                lists.append((f"{tag}_{vname}", variant(l, drop, where)))
    except (ListError, OSError) as e:
        print(f"gen-filters: {e}", file=sys.stderr)
        return 1
    if a.count:
        for tag, l in lists:
            print(f"{tag}: {l['count']} syscalls, {len(l['rules'])} rules")
        return 0
    with open(a.output, "w", encoding="utf-8") as out:
        emit(lists, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
