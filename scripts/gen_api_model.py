#!/usr/bin/env python3
"""Generates the C tables of an AWS service's request shapes from its botocore model.

Input: a botocore service-2.json (Debian's python3-botocore ships them under
/usr/lib/python3/dist-packages/botocore/data/<service>/<version>/). Output: one C file that
defines `const api_model <symbol>` (see src/api/api_model.h): every shape reachable from an
operation's input, with its type, min/max, pattern (translated to a POSIX extended regex, the
original Java text kept for the message), enum values and members (JSON name, shape, required).
src/api/api_model.c walks a request against these tables; nothing here is per operation.

Run by CMake at build time (no network):
  gen_api_model.py --model service-2.json --symbol api_model_dynamodb \
                   --dialect API_MODEL_DIALECT_DYNAMODB --out api_model_dynamodb.c
"""
import argparse
import json
import sys

TYPES = {
    "structure": "API_MT_STRUCT", "list": "API_MT_LIST", "map": "API_MT_MAP",
    "string": "API_MT_STRING", "integer": "API_MT_INTEGER", "long": "API_MT_LONG",
    "double": "API_MT_DOUBLE", "float": "API_MT_DOUBLE", "boolean": "API_MT_BOOLEAN",
    "blob": "API_MT_BLOB", "timestamp": "API_MT_TIMESTAMP",
}

# The services list an enum's values in their own order (a Java hash set's), not the model's;
# where the conformance suites written against the real services show it, that order is kept
# here so the "Member must satisfy enum value set: [...]" text is the service's.
AWS_ENUM_ORDER = {
    ("dynamodb", "ReturnValue"): ["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"],
    ("dynamodb", "ReturnConsumedCapacity"): ["INDEXES", "TOTAL", "NONE"],
    ("dynamodb", "ComparisonOperator"): ["IN", "NULL", "BETWEEN", "LT", "NOT_CONTAINS", "EQ", "GT",
                                         "NOT_NULL", "NE", "LE", "BEGINS_WITH", "GE", "CONTAINS"],
    ("dynamodb", "Select"): ["SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES",
                             "ALL_PROJECTED_ATTRIBUTES"],
    ("dynamodb", "ProjectionType"): ["ALL", "INCLUDE", "KEYS_ONLY"],
    ("dynamodb", "ScalarAttributeType"): ["B", "N", "S"],
    ("dynamodb", "ConditionalOperator"): ["OR", "AND"],
    ("kinesis", "ShardIteratorType"): ["AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP",
                                       "AT_SEQUENCE_NUMBER", "TRIM_HORIZON"],
}

BRACKET_ESCAPES = {"d": "0-9", "w": "A-Za-z0-9_", "s": " \t\n\r\f\v", "t": "\t", "n": "\n",
                   "r": "\r"}
OUTSIDE_ESCAPES = {"d": "[0-9]", "w": "[A-Za-z0-9_]", "s": "[[:space:]]", "S": "[^[:space:]]",
                   "D": "[^0-9]", "t": "\t", "n": "\n"}


class Unsupported(Exception):
    pass


def bracket_to_posix(body):
    """A Java character class body (between [ and ]) as a POSIX bracket expression."""
    negate = body.startswith("^")
    if negate:
        body = body[1:]
    chars = set()
    i = 0
    items = []  # single characters, in order, ranges expanded later
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body):
                raise Unsupported("trailing backslash")
            n = body[i + 1]
            if n in "dws":
                items.append(("set", BRACKET_ESCAPES[n]))
                i += 2
                continue
            if n in "tnr":
                items.append(("ch", BRACKET_ESCAPES[n]))
                i += 2
                continue
            if n == "x":
                items.append(("ch", chr(int(body[i + 2:i + 4], 16))))
                i += 4
                continue
            if n.isalnum():
                raise Unsupported("escape \\" + n)
            items.append(("ch", n))
            i += 2
            continue
        if c == "[":
            raise Unsupported("nested class")
        items.append(("ch", c))
        i += 1
    # Resolve ranges a-b among single characters.
    k = 0
    while k < len(items):
        kind, v = items[k]
        if kind == "set":
            for part in expand_simple(v):
                chars.add(part)
            k += 1
            continue
        if k + 2 < len(items) and items[k + 1] == ("ch", "-") and items[k + 2][0] == "ch":
            lo, hi = ord(v), ord(items[k + 2][1])
            if hi < lo or hi > 0x7f:
                raise Unsupported("range beyond ASCII")
            chars.update(chr(x) for x in range(lo, hi + 1))
            k += 3
            continue
        if ord(v) > 0x7f:
            raise Unsupported("non-ASCII")
        chars.add(v)
        k += 1
    if not chars:
        raise Unsupported("empty class")
    ordered = sorted(chars)
    out = ""
    if "]" in chars:
        out += "]"
    for ch in ordered:
        if ch not in "]-^":
            out += ch
    if "^" in chars:
        out += "^"
    if "-" in chars:
        out += "-"
    if out == "^":
        out = "\\^"  # cannot happen with a lone caret in POSIX; keep it explicit
    return "[" + ("^" if negate else "") + out + "]"


def expand_simple(spec):
    out = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.extend(chr(x) for x in range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return out


def pattern_to_posix(p):
    """Java regex (as botocore carries it) -> anchored POSIX ERE, or Unsupported."""
    if "\\p" in p or "\\u" in p:
        raise Unsupported("unicode class")
    if p.startswith("^"):
        p = p[1:]
    if p.endswith("$") and not p.endswith("\\$"):
        p = p[:-1]
    out = ""
    i = 0
    while i < len(p):
        c = p[i]
        if c == "[":
            j = i + 1
            if j < len(p) and p[j] == "^":
                j += 1
            if j < len(p) and p[j] == "]":
                j += 1
            while j < len(p) and p[j] != "]":
                j += 2 if p[j] == "\\" else 1
            if j >= len(p):
                raise Unsupported("unterminated class")
            out += bracket_to_posix(p[i + 1:j])
            i = j + 1
            continue
        if c == "\\":
            n = p[i + 1]
            if n in OUTSIDE_ESCAPES:
                out += OUTSIDE_ESCAPES[n]
            elif n.isalnum():
                raise Unsupported("escape \\" + n)
            elif n in ".[]()*+?{}|^$\\":
                out += "\\" + n
            else:
                out += n
            i += 2
            continue
        out += c
        i += 1
    return "^(" + out + ")$"


def c_str(s):
    out = '"'
    for ch in s:
        o = ord(ch)
        if ch in '"\\':
            out += "\\" + ch
        elif ch == "\n":
            out += "\\n"
        elif ch == "\t":
            out += "\\t"
        elif ch == "\r":
            out += "\\r"
        elif o < 0x20 or o == 0x7f:
            out += "\\%03o" % o
        elif o > 0x7f:
            out += "".join("\\%03o" % b for b in ch.encode("utf-8"))
        else:
            out += ch
    return out + '"'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--service", required=True, help="short name: dynamodb, kinesis")
    ap.add_argument("--symbol", required=True)
    ap.add_argument("--dialect", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    with open(a.model, encoding="utf-8") as f:
        model = json.load(f)
    shapes = model["shapes"]

    order = []
    index = {}

    def visit(name):
        if name in index:
            return
        index[name] = len(order)
        order.append(name)
        s = shapes[name]
        if s["type"] == "structure":
            for m in s.get("members", {}).values():
                visit(m["shape"])
        elif s["type"] == "list":
            visit(s["member"]["shape"])
        elif s["type"] == "map":
            visit(s["key"]["shape"])
            visit(s["value"]["shape"])

    ops = []
    for op_name in sorted(model["operations"]):
        op = model["operations"][op_name]
        if "input" in op:
            visit(op["input"]["shape"])
            ops.append((op_name, op["input"]["shape"]))

    lines = []
    w = lines.append
    w("/* Generated by scripts/gen_api_model.py from %s; do not edit. */"
      % a.model.replace("*/", ""))
    w('#include "api/api_model.h"')
    w("")
    skipped = []
    rows = []
    for name in order:
        s = shapes[name]
        i = index[name]
        t = s["type"]
        if t not in TYPES:
            sys.exit("gen_api_model: shape %s has unknown type %s" % (name, t))
        fields = [".name = %s" % c_str(name), ".type = %s" % TYPES[t]]
        if "min" in s:
            fields += [".has_min = true", ".min = %dLL" % int(s["min"])]
        if "max" in s:
            fields += [".has_max = true", ".max = %dLL" % int(s["max"])]
        if "pattern" in s:
            try:
                posix = pattern_to_posix(s["pattern"])
                fields += [".pattern = %s" % c_str(s["pattern"]), ".posix = %s" % c_str(posix)]
            except Unsupported as why:
                skipped.append("%s: %s (%s)" % (name, s["pattern"], why))
        if "enum" in s:
            vals = AWS_ENUM_ORDER.get((a.service, name), s["enum"])
            assert sorted(vals) == sorted(s["enum"]), name
            w("static const char *const E%d[] = {%s};" % (i, ", ".join(c_str(v) for v in vals)))
            fields += [".enums = E%d" % i, ".n_enums = %d" % len(vals)]
        if t == "structure":
            req = set(s.get("required", []))
            mem = s.get("members", {})
            if mem:
                w("static const api_model_member M%d[] = {" % i)
                for mname, m in mem.items():
                    json_name = m.get("locationName", mname)
                    w("    {%s, %d, %s}," % (c_str(json_name), index[m["shape"]],
                                           "true" if mname in req else "false"))
                w("};")
                fields += [".members = M%d" % i, ".n_members = %d" % len(mem)]
        elif t == "list":
            fields.append(".element = %d" % index[s["member"]["shape"]])
        elif t == "map":
            fields += [".key = %d" % index[s["key"]["shape"]],
                       ".element = %d" % index[s["value"]["shape"]]]
        rows.append("    [%d] = {%s}," % (i, ", ".join(fields)))
    if skipped:
        w("/* Patterns not expressible as POSIX regexes, not checked:")
        for line in skipped:
            w(" *   " + line.replace("*/", "* /"))
        w(" */")
    w("")
    w("static const api_model_shape SHAPES[] = {")
    lines.extend(rows)
    w("};")
    w("")
    w("/* Sorted by name: api_model_op_find searches it. */")
    w("static const api_model_op OPS[] = {")
    for op_name, shape in ops:
        w("    {%s, %d}," % (c_str(op_name), index[shape]))
    w("};")
    w("")
    w("const api_model %s = {" % a.symbol)
    w("    .service = %s," % c_str(a.service))
    w("    .dialect = %s," % a.dialect)
    w("    .shapes = SHAPES,")
    w("    .n_shapes = %d," % len(order))
    w("    .ops = OPS,")
    w("    .n_ops = %d," % len(ops))
    w("};")
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
