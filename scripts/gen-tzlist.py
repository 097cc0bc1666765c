#!/usr/bin/env python3
"""Regenerates reconcile/tzlist.inc, the IANA time zone names trimtab accepts in schedules.

Application Auto Scaling takes "the canonical names of the IANA time zones"; the list is
compiled in so that validation gives the same answer on every machine, tzdata or not.
"""
import sys
import zoneinfo

names = sorted(n for n in zoneinfo.available_timezones()
               if not n.startswith(("posix/", "right/"))
               and n not in ("Factory", "localtime", "posixrules"))
out = ["/* IANA time zone names (generated from tzdata by scripts/gen-tzlist.py; sorted for bsearch). */"]
out += ['"%s",' % n for n in names]
path = sys.argv[1] if len(sys.argv) > 1 else "reconcile/tzlist.inc"
with open(path, "w") as f:
    f.write("\n".join(out) + "\n")
