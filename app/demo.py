"""Deterministic demo history of JumpCloud Directory Insights events, in the vendor's own JSON shapes.

Why: the graph and its investigations need a believable organisation without a JumpCloud tenant: admins set
it up, people join and leave, grants are revoked, a couple of accounts see failure bursts, and a few people
still reach things after their access was removed. The history is streamed hour by hour (roughly in time
order, shuffled within the hour); only the small org tables and the plan of directory changes stay in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

DEFAULT_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
DOMAIN = "example.com"
Ref = tuple[str, int]  # (vendor object type, index into that table)

# key: country, continent, region code, region name, timezone, lat, lon, public /16 prefixes
_GEO: dict[str, tuple[Any, ...]] = {
    "den": ("US", "NA", "CO", "Colorado", "America/Denver", 39.7392, -104.9903, ("97.122", "75.166", "174.51")),
    "sfo": ("US", "NA", "CA", "California", "America/Los_Angeles", 37.7749, -122.4194, ("73.162", "98.207")),
    "nyc": ("US", "NA", "NY", "New York", "America/New_York", 40.7128, -74.006, ("72.89", "108.41", "69.112")),
    "lon": ("GB", "EU", "ENG", "England", "Europe/London", 51.5074, -0.1278, ("86.150", "82.132", "51.148")),
    "aus": ("US", "NA", "TX", "Texas", "America/Chicago", 30.2672, -97.7431, ("70.121", "99.61", "47.186")),
    "ber": ("DE", "EU", "BE", "Berlin", "Europe/Berlin", 52.52, 13.405, ("91.64", "84.170", "93.220")),
    "yyz": ("CA", "NA", "ON", "Ontario", "America/Toronto", 43.6532, -79.3832, ("99.226", "142.114")),
    "blr": ("IN", "AS", "KA", "Karnataka", "Asia/Kolkata", 12.9716, 77.5946, ("49.207", "106.51", "117.198")),
    "sao": ("BR", "SA", "SP", "São Paulo", "America/Sao_Paulo", -23.5505, -46.6333, ("177.92", "189.44")),
    "par": ("FR", "EU", "IDF", "Île-de-France", "Europe/Paris", 48.8566, 2.3522, ("78.192", "86.242")),
    "tyo": ("JP", "AS", "13", "Tokyo", "Asia/Tokyo", 35.6762, 139.6503, ("153.240", "60.112")),
    "mex": ("MX", "NA", "CMX", "Mexico City", "America/Mexico_City", 19.4326, -99.1332, ("187.190", "201.141")),
    "los": ("NG", "AF", "LA", "Lagos", "Africa/Lagos", 6.5244, 3.3792, ("105.112", "102.89")),
    "mow": ("RU", "EU", "MOW", "Moscow", "Europe/Moscow", 55.7558, 37.6173, ("95.24", "176.59")),
    "han": ("VN", "AS", "HN", "Hanoi", "Asia/Ho_Chi_Minh", 21.0278, 105.8342, ("113.185", "14.232")),
    "buh": ("RO", "EU", "B", "Bucuresti", "Europe/Bucharest", 44.4268, 26.1025, ("79.112", "188.26")),
}
OFFICES, REMOTE, TRAVEL, HOSTILE = ("den", "sfo", "nyc", "lon"), ("aus", "ber", "yyz", "blr", "sao"), \
    ("par", "tyo", "mex"), ("los", "mow", "han", "buh")
# name, major, minor, patch, os, os_major, os_minor, device, raw UA string
_UAS = (
    ("Chrome", "141", "0", "7390", "Mac OS X", "10", "15", "Other", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
     " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.7390.122 Safari/537.36"),
    ("Chrome", "141", "0", "7390", "Windows", "10", "", "Other", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
     " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.7390.122 Safari/537.36"),
    ("Firefox", "144", "0", "", "Windows", "10", "", "Other",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:144.0) Gecko/20100101 Firefox/144.0"),
    ("Safari", "18", "6", "", "Mac OS X", "10", "15", "Other", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
     " AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Safari/605.1.15"),
    ("Edge", "141", "0", "3537", "Windows", "10", "", "Other", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit"
     "/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36 Edg/141.0.3537.85"),
    ("Mobile Safari", "18", "6", "", "iOS", "18", "6", "iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS"
     " X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1"),
    ("Chrome Mobile", "141", "0", "7390", "Android", "15", "", "Pixel 8", "Mozilla/5.0 (Linux; Android 15; Pixel 8)"
     " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.7390.122 Mobile Safari/537.36"),
)
FIRST = ("Sarah James Maria Wei Aisha Tom Elena Raj Chloe Diego Hannah Kenji Olivia Samir Grace Lucas Nora Ivan Zoe "
         "Omar Emma Noah Priya Liam Fatima Ethan Yuki Mateo Ava Daniel Leila Jonas Ruth Carlos Mia Felix Amara Ben "
         "Sofia Kwame").split()
LAST = ("Lucero Chen Okafor Patel Novak Garcia Smith Kim Müller Rossi Haddad Silva Nguyen Brown Costa Dubois Ivanova "
        "Tanaka Walsh Cohen Adeyemi Larsen Moreno Singh Fischer Baker Ortiz Kowalski Ali Murphy Reyes Schmidt Park "
        "Hughes Varga Mendes Quinn Sato Berg Ward").split()
USER_GROUPS = ("All Staff", "Engineering", "Sales", "Finance", "IT", "Contractors")
DEPT_WEIGHTS = (0, 40, 22, 10, 8, 20)
SYSTEM_GROUPS = ("Production Servers", "Build Agents", "Workstations")
APPS = (("GitHub", "GitHub", "github"), ("Slack", "Slack", "slack"), ("Salesforce", "Salesforce", "salesforce"),
        ("AWS", "AWS IAM Identity Center", "aws"), ("Zoom", "Zoom", "zoom"), ("Jira", "Atlassian Jira", "jira"),
        ("Google Workspace", "Google Workspace", "google"), ("NetSuite", "NetSuite", "netsuite"))
SERVERS = (("build-01", "Ubuntu 22.04", 1), ("build-02", "Ubuntu 22.04", 1), ("prod-web-01", "Ubuntu 24.04", 0),
           ("prod-web-02", "Ubuntu 24.04", 0), ("prod-db-01", "Ubuntu 24.04", 0), ("bastion-01", "Ubuntu 24.04", 0),
           ("fin-reports-01", "Windows Server 2022", None))
# user group -> what it grants: (object type, name)
GRANTS = {
    "All Staff": (("application", "Slack"), ("application", "Zoom"), ("application", "Google Workspace"),
                  ("radius_server", "")),
    "Engineering": (("application", "GitHub"), ("application", "AWS"), ("application", "Jira"),
                    ("system_group", "Build Agents"), ("system_group", "Production Servers"), ("ldap_server", "")),
    "Sales": (("application", "Salesforce"),),
    "Finance": (("application", "NetSuite"), ("application", "Salesforce"), ("system", "fin-reports-01")),
    "IT": (("application", "AWS"), ("application", "GitHub"), ("application", "Jira"), ("ldap_server", ""),
           ("system_group", "Production Servers"), ("system_group", "Workstations"), ("radius_server", "")),
    "Contractors": (("application", "Slack"), ("application", "Jira"), ("application", "GitHub")),
}
# grants removed mid-history: (user group, object type, name, fraction of the history)
REVOCATIONS = (("Contractors", "application", "GitHub", 0.45), ("Engineering", "system_group", "Production Servers", 0.6))
BRUTE_NAMES = ("root", "admin", "ubuntu", "test", "oracle", "postgres")


@dataclass(slots=True)
class _Loc:
    geo: dict[str, Any]
    old: dict[str, Any]  # the older `country_code2` spelling, without coordinates
    prefixes: tuple[str, ...]


@dataclass(slots=True)
class _User:
    id: str
    sys_id: str  # the systemuser id the systems service reports
    username: str
    email: str
    first: str
    last: str
    loc: _Loc
    remote: bool
    ips: tuple[str, str]
    lan: str
    uas: tuple[int, int]
    dept: int
    weight: int
    created: float = 0.0
    gone: float = float("inf")
    active: bool = False
    mfa: bool = False
    groups: set[int] = field(default_factory=set)
    dapps: set[int] = field(default_factory=set)
    dsys: set[int] = field(default_factory=set)
    apps: tuple[int, ...] = ()
    systems: tuple[int, ...] = ()
    menu: tuple[str, ...] = ("portal",)


class _World:
    """The org, the plan of directory changes, and the state those changes produce as the history unrolls."""

    def __init__(self, users: int, days: int, seed: int, org: str, end: datetime) -> None:
        self.rng = rng = random.Random(seed)
        self.org, self.E = org, int(end.timestamp())
        self.H = days * 86400
        self.S = self.E - self.H
        self.esalt, self.osalt = f"{seed * 0x9E3779B1 & 0xFFFFFF:06x}", f"{seed * 0x85EBCA6B + 7 & 0xFFFFFF:06x}"
        self.n, self.on = 0, 1 << 39  # event and object counters: disjoint ranges, so ids never collide
        self.locs = {k: _Loc({"country_code": v[0], "continent_code": v[1], "region_code": v[2], "region_name": v[3],
                              "timezone": v[4], "latitude": v[5], "longitude": v[6]},
                             {"timezone": v[4], "country_code2": v[0], "continent_code": v[1], "region_name": v[3],
                              "region_code": v[2]}, v[7]) for k, v in _GEO.items()}
        self.uas = [({"name": u[0], "major": u[1], "minor": u[2], "patch": u[3], "os": u[4], "os_name": u[4],
                      "os_major": u[5], "os_minor": u[6], "device": u[7], "build": ""}, u[8]) for u in _UAS]
        pre = self.S - 400 * 86400
        names = [("Dana", "Whitfield"), ("Marco", "Ruiz"), ("Priya", "Nair")][: 3 if users >= 10 else 1]
        self.admins = [(self._oid(pre), f"{f}.{l}@{DOMAIN}".lower()) for f, l in names]
        self.admin_ip = self._ip(self.locs["den"])
        self.gids = [self._oid(pre) for _ in USER_GROUPS]
        self.sgids = [self._oid(pre) for _ in SYSTEM_GROUPS]
        self.apps = [{"id": self._oid(pre), "name": n, "display_label": d, "sso_type": "saml",
                      "sso_url": f"https://sso.jumpcloud.com/saml2/{s}"} for n, d, s in APPS]
        self.radius = (self._oid(pre), "Office Wi-Fi")
        self.ldap = (self._oid(pre), "JumpCloud LDAP")
        self.systems: list[dict[str, Any]] = []
        self.sys_os: list[str] = []
        self.g_members: list[set[int]] = [set() for _ in USER_GROUPS]
        self.g_grants: list[set[Ref]] = [set() for _ in USER_GROUPS]
        self.sg_sys: list[set[int]] = [set() for _ in SYSTEM_GROUPS]
        self.dirty: set[int] = set()
        self.revoked: list[tuple[_User, str, int]] = []
        self.pool: list[_User] = []
        self.pool_dirty = False
        self.p_old, self.radius_type = 0.35, "radius_auth"  # older spellings early in the history
        self.taken: set[str] = set()
        self.name_off = (rng.randrange(len(FIRST)), rng.randrange(len(LAST)))
        self.users = [self._user(i) for i in range(users)]
        self.plan: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._make_plan()

    # ---- small helpers -------------------------------------------------------------------------------------
    def _oid(self, t: float) -> str:
        self.on += 1
        return f"{int(t):08x}{self.osalt}{self.on:010x}"

    def _ip(self, loc: _Loc) -> str:
        r = self.rng.random
        return f"{loc.prefixes[int(r() * len(loc.prefixes))]}.{int(r() * 254) + 1}.{int(r() * 253) + 2}"

    def _user(self, i: int) -> _User:
        rng, (a, b) = self.rng, divmod(i, len(FIRST))[::-1]
        first = FIRST[(a + self.name_off[0]) % len(FIRST)]
        last = LAST[(7 * a + b + self.name_off[1]) % len(LAST)]  # distinct pairs for the first 1600 users
        suffix = "" if i < len(FIRST) * len(LAST) else str(i)
        uname = base = (first[0] + last).lower().replace("ü", "u") + suffix
        while uname in self.taken:  # the vendor's admins pick sdiaz2 style names too
            uname = f"{base}{len(self.taken) % 97 + 2}"
            base = uname if uname in self.taken else base
        self.taken.add(uname)
        remote = rng.random() < 0.3
        key = rng.choice(REMOTE if remote else OFFICES)
        loc, net = self.locs[key], 99 if remote else 20 + OFFICES.index(key)
        dept = rng.choices(range(len(USER_GROUPS)), DEPT_WEIGHTS)[0]
        ua = rng.randrange(len(_UAS))
        return _User("", "", uname, f"{first}.{last}{suffix}@{DOMAIN}".lower()
                     .replace("ü", "u"), first, last, loc, remote, (self._ip(loc), self._ip(loc)),
                     f"10.{net}.{1 + i // 240}.{10 + i % 240}", (ua, rng.choice((ua, 5, 6))), dept,
                     rng.choice((1, 1, 2, 3, 5)))

    def _fmt(self, t: float, digits: int) -> str:
        base = datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{base}.{int((t % 1) * 10 ** digits):0{digits}d}Z" if digits else base + "Z"

    def _obj(self, ref: Ref) -> dict[str, Any]:
        typ, i = ref
        oid, name = {"user": lambda: (self.users[i].id, self.users[i].username),
                     "user_group": lambda: (self.gids[i], USER_GROUPS[i]),
                     "system_group": lambda: (self.sgids[i], SYSTEM_GROUPS[i]),
                     "system": lambda: (self.systems[i]["id"], self.systems[i]["hostname"]),
                     "application": lambda: (self.apps[i]["id"], self.apps[i]["name"]),
                     "radius_server": lambda: self.radius, "ldap_server": lambda: self.ldap}[typ]()
        return {"object_id": oid, "type": typ, "name": name}

    # ---- the plan: directory changes in time ------------------------------------------------------------------
    def _make_plan(self) -> None:
        rng, S, H, E = self.rng, self.S, self.H, self.E
        plan = self.plan

        def add(t: float, kind: str, *args: Any) -> None:
            plan.append((min(max(t + rng.random(), S), E - 1.0), len(plan), kind, args))  # + jitter: real ms

        n = len(self.users)
        late = set(rng.sample(range(n), n * 15 // 100)) if n >= 5 else set()
        gap = min(25.0, 0.08 * H / (60 + 5 * n))
        t = S + (15 * 3600 if H >= 2 * 86400 else 60)
        add(t - 90, "admin_login", 0)
        for a in range(1, len(self.admins)):
            add(t := t + gap, "admin_create", a)
        for g in range(len(USER_GROUPS)):
            add(t := t + gap, "group_create", "user_group", g)
        for g in range(len(SYSTEM_GROUPS)):
            add(t := t + gap, "group_create", "system_group", g)
        for a in range(len(self.apps)):
            add(t := t + gap, "application_create", a)
        add(t := t + gap, "radiusserver_create")
        for host, os_, sg in SERVERS:
            si = self._system(host, os_, host, t := t + gap)
            if sg is not None:
                add(t := t + gap, "assoc", "add", ("system", si), ("system_group", sg), 0)
        names = {"application": [a["name"] for a in self.apps], "system_group": list(SYSTEM_GROUPS),
                 "system": [s["hostname"] for s in self.systems], "radius_server": [""], "ldap_server": [""]}
        self.grant_refs = {g: [(typ, names[typ].index(nm)) for typ, nm in GRANTS[g]] for g in USER_GROUPS}
        for g, name in enumerate(USER_GROUPS):
            for ref in self.grant_refs[name]:
                add(t := t + gap, "assoc", "add", ("user_group", g), ref, 0)
        for i, u in enumerate(self.users):
            if i in late:
                t_u = S + H * (0.15 + 0.75 * rng.random())
                self._join(add, i, t_u, 60.0, rng.randrange(len(self.admins)))
            else:
                t = self._join(add, i, t + gap, gap, 0)
        early = [i for i in range(n) if i not in late]
        for i in rng.sample(early, min(3, len(early))):  # a few direct user -> application bindings
            add(t := t + gap, "assoc", "add", ("user", i), ("application", rng.randrange(len(self.apps))), 0)
        for gname, typ, name, frac in REVOCATIONS:
            g = USER_GROUPS.index(gname)
            add(S + H * frac, "assoc", "remove", ("user_group", g), (typ, names[typ].index(name)), 1 % len(self.admins))
        rng.shuffle(early)
        targets, leavers = early[:2], early[2: 2 + max(1 if n >= 4 else 0, n // 12)]
        for i in leavers:
            self._leave(add, i, S + H * (0.35 + 0.57 * rng.random()))
        movers = [i for i in early[2 + len(leavers):] if self.users[i].dept == 2][:1]
        for i in movers:  # a Sales person moves to Engineering, and may keep using Salesforce
            tm = S + H * (0.3 + 0.2 * rng.random())
            add(tm, "assoc", "remove", ("user", i), ("user_group", 2), 1 % len(self.admins))
            add(tm + 40, "assoc", "add", ("user", i), ("user_group", 1), 1 % len(self.admins))
        for i, u in enumerate(self.users):
            span = min(u.gone, E) - u.created - 3600
            if span <= 0:
                continue
            for _ in range(int(H / 86400 / 45 + rng.random())):
                add(u.created + 3600 + span * rng.random(), "user_password_change", i)
            if rng.random() < 0.65:
                ts = u.created + 3600 + span * rng.random() * 0.7
                add(ts, "totp_start_enrollment", i)
                if rng.random() < 0.9:
                    add(ts + 30 + 240 * rng.random(), "totp_finish_enrollment", i)
        for i in targets:  # bursts of failed logins from abroad, a lockout, an admin unlock
            for _ in range(1 + rng.randrange(2)):
                tb, loc = S + H * (0.2 + 0.75 * rng.random()), self.locs[rng.choice(HOSTILE)]
                ip = self._ip(loc)
                for _ in range(8 + rng.randrange(18)):
                    add(tb := tb + 5 + 35 * rng.random(), "fail", i, loc, ip)
                add(tb + 1, "user_lockout", i, loc, ip)
                add(tb + 1200 + 9000 * rng.random(), "user_unlocked", i, 1 % len(self.admins))
        wifi = [i for i in early[2 + len(leavers):] if not self.users[i].remote and self.users[i].dept != 5]
        if wifi:  # a password change the office Wi-Fi profile did not follow
            i, tw = wifi[0], S + H * (0.3 + 0.6 * rng.random())
            add(tw, "user_password_change", i)
            for k in range(4 + rng.randrange(6)):
                add(tw + 120 + 200 * k * rng.random(), "rfail", i)
        plan.sort()

    def _system(self, host: str, os_: str, display: str, t: float) -> int:
        self.systems.append({"id": self._oid(t), "hostname": host, "displayName": display})
        self.sys_os.append(os_)
        self.plan.append((min(t + 0.5, self.E - 1.0), len(self.plan), "system_create", (len(self.systems) - 1,)))
        return len(self.systems) - 1

    def _join(self, add: Any, i: int, t: float, gap: float, admin: int) -> float:
        u = self.users[i]
        u.created, u.id, u.sys_id = t, self._oid(t), self._oid(t)  # ObjectIds carry their creation time
        add(t, "user_create", i, admin)
        for g in ((u.dept,) if u.dept == 5 else (0, u.dept)):
            add(t := t + gap, "assoc", "add", ("user", i), ("user_group", g), admin)
            u.groups.add(g)  # planned membership, reset before the history plays
        if self.rng.random() < 0.4 and u.dept != 5:
            mac = u.dept != 3
            si = self._system(f"{u.username}-{'mbp' if mac else 'ws'}", "macOS 15.1" if mac else "Windows 11 Pro",
                              f"{u.first}'s {'MacBook Pro' if mac else 'Workstation'}", t := t + gap)
            add(t := t + gap, "assoc", "add", ("system", si), ("system_group", 2), admin)
            add(t := t + gap, "assoc", "add", ("user", i), ("system", si), admin)
            u.dsys.add(si)
        return t

    def _leave(self, add: Any, i: int, t: float) -> None:
        u, a = self.users[i], 1 % len(self.admins)
        for si in sorted(u.dsys):
            add(t := t + 30, "assoc", "remove", ("user", i), ("system", si), a)
        for g in sorted(u.groups):
            add(t := t + 20 + 40 * self.rng.random(), "assoc", "remove", ("user", i), ("user_group", g), a)
        add(t := t + 120 + 480 * self.rng.random(), "suspend", i, a)
        u.gone = t
        if self.rng.random() < 0.5:
            add(t + 86400 * (1 + 5 * self.rng.random()), "user_delete", i, a)

    # ---- playing the history ---------------------------------------------------------------------------------
    def stream(self, events: int) -> Iterator[dict[str, Any]]:
        for u in self.users:
            u.groups, u.dsys = set(), set()
        plan = self.plan[:events]
        bulk = max(0, events - len(plan))
        first_user = min((p[0] for p in plan if p[2] == "user_create"), default=float(self.E))
        nslots = self.H // 3600
        weights = []
        for s in range(nslots):
            base = self.S + 3600 * s
            dt = datetime.fromtimestamp(base, timezone.utc)
            w = (8 if 13 <= dt.hour <= 23 else 3 if dt.hour < 3 or dt.hour >= 7 else 1) * (1 if dt.weekday() < 5 else 0.25)
            weights.append(0 if base + 3600 <= first_user else int(w * 4))
        total_w, cum, done, li = sum(weights) or 1, 0, 0, 0
        for s in range(nslots):
            base = self.S + 3600 * s
            cum += weights[s]
            count = bulk * cum // total_w - done
            done += count
            lo = 0
            while li < len(plan) and plan[li][0] < base + 3600:
                ev = self._life(plan[li])
                lo = max(lo, min(3599, int(plan[li][0]) - base + 1))
                li += 1
                yield ev
            self._settle()
            self.p_old = 0.35 if s < nslots * 0.3 else 0.03
            self.radius_type = "radius_auth" if s < nslots * 0.4 else "radius_auth_attempt"
            pfx = datetime.fromtimestamp(base, timezone.utc).strftime("%Y-%m-%dT%H:")
            for _ in range(count):
                yield self._auth(base, pfx, lo)
        while li < len(plan):
            yield self._life(plan[li])
            li += 1

    def _settle(self) -> None:
        """Recompute the access of users whose grants changed; note what they lost, for later misuse."""
        for ui in sorted(self.dirty):
            u = self.users[ui]
            apps, systems, radius, ldap = set(u.dapps), set(u.dsys), False, False
            for g in u.groups:
                for typ, i in self.g_grants[g]:
                    if typ == "application":
                        apps.add(i)
                    elif typ == "system":
                        systems.add(i)
                    elif typ == "system_group":
                        systems |= self.sg_sys[i]
                    radius, ldap = radius or typ == "radius_server", ldap or typ == "ldap_server"
            self.revoked += [(u, "sso", a) for a in u.apps if a not in apps]
            self.revoked += [(u, "systems", x) for x in u.systems if x not in systems]
            u.apps, u.systems = tuple(sorted(apps)), tuple(sorted(systems))
            u.menu = (("portal",) * 3 + ("sso",) * 9 * bool(apps) + ("systems",) * 3 * bool(systems)
                      + ("radius",) * 3 * (radius and not u.remote) + ("ldap_bind",) * 2 * ldap + ("ldap_search",) * ldap)
        self.dirty.clear()
        if self.pool_dirty:
            self.pool = [u for u in self.users if u.active for _ in range(u.weight)]
            self.pool_dirty = False

    def _apply(self, op: str, a: Ref, b: Ref) -> None:
        put = set.add if op == "add" else set.discard
        if a[0] == "user":
            u = self.users[a[1]]
            put({"user_group": u.groups, "system": u.dsys, "application": u.dapps}[b[0]], b[1])
            if b[0] == "user_group":
                put(self.g_members[b[1]], a[1])
            self.dirty.add(a[1])
        elif a[0] == "system":
            put(self.sg_sys[b[1]], a[1])
            for g, grants in enumerate(self.g_grants):
                if ("system_group", b[1]) in grants:
                    self.dirty |= self.g_members[g]
        else:
            put(self.g_grants[a[1]], b)
            self.dirty |= self.g_members[a[1]]

    def _adm(self, a: int) -> dict[str, Any]:
        return {"id": self.admins[a][0], "type": "admin", "email": self.admins[a][1]}

    @staticmethod
    def _who(u: _User) -> dict[str, Any]:
        return {"id": u.id, "type": "user", "username": u.username}

    @staticmethod
    def _res(u: _User) -> dict[str, Any]:
        return {"id": u.id, "type": "user", "username": u.username, "email": u.email}

    def _base(self, etype: str, service: str, ts: str, ep: int) -> dict[str, Any]:
        self.n += 1
        return {"id": f"{ep:08x}{self.esalt}{self.n:010x}", "event_type": etype, "service": service,
                "timestamp": ts, "organization": self.org, "@version": "1"}

    def _dir(self, etype: str, t: float, by: dict[str, Any], ip: str, loc: _Loc, ua: int | None = 0,
             api: bool = False) -> dict[str, Any]:
        ev = self._base(etype, "directory", self._fmt(t, 3), int(t))
        ev.update(initiated_by=by, client_ip=ip, geoip=self._geo(loc), auth_method="api key" if api else "session",
                  provider=None)
        if ua is not None and not api:
            self._ua(ev, ua)
        return ev

    def _geo(self, loc: _Loc) -> dict[str, Any]:
        return (loc.old if self.rng.random() < self.p_old else loc.geo).copy()

    def _ua(self, ev: dict[str, Any], ua: int) -> None:
        x, (obj, raw) = self.rng.random(), self.uas[ua]
        if x < 0.05:
            ev["useragent"] = raw  # the ingest enriches raw strings
        else:
            ev["user_agent" if x < 0.15 else "useragent"] = obj.copy()

    def _life(self, item: tuple[float, int, str, tuple[Any, ...]]) -> dict[str, Any]:
        """One planned directory change: apply it to the state and render its event."""
        t, _, kind, args = item
        den, adm, who, res = self.locs["den"], self._adm, self._who, self._res
        if kind == "admin_login":
            ev = self._dir("admin_login_attempt", t, adm(args[0]), self.admin_ip, den)
            ev.update(success=True, mfa=True)
        elif kind == "admin_create":
            aid, email = self.admins[args[0]]
            ev = self._dir(kind, t, adm(0), self.admin_ip, den)
            ev.update(resource={"id": aid, "type": "admin", "email": email}, changes=[
                {"field": "email", "to": email}, {"field": "created", "to": self._fmt(t, 3)}, {"field": "id", "to": aid}])
        elif kind == "group_create":
            typ, g = args
            gid, name = (self.gids[g], USER_GROUPS[g]) if typ == "user_group" else (self.sgids[g], SYSTEM_GROUPS[g])
            ev = self._dir(kind, t, adm(0), self.admin_ip, den)
            ev.update(resource={"id": gid, "type": typ, "name": name}, changes=[{"field": "name", "to": name}])
        elif kind == "application_create":
            app = self.apps[args[0]]
            ev = self._dir(kind, t, adm(0), self.admin_ip, den)
            ev.update(resource={"id": app["id"], "type": "application", "name": app["name"]}, changes=[
                {"field": "name", "to": app["name"]}, {"field": "displayLabel", "to": app["display_label"]},
                {"field": "ssoUrl", "to": app["sso_url"]}])
        elif kind == "radiusserver_create":
            ev = self._dir(kind, t, adm(0), self.admin_ip, den)
            ev.update(resource={"id": self.radius[0], "type": "radius_server", "name": self.radius[1]}, changes=[
                {"field": "name", "to": self.radius[1]}, {"field": "networkSourceIp", "to": "10.20.0.1"}])
        elif kind == "system_create":
            s = self.systems[args[0]]
            ev = self._dir(kind, t, adm(0), self.admin_ip, den, api=True)
            ev.update(resource={"id": s["id"], "type": "system", "name": s["hostname"]}, changes=[
                {"field": "hostname", "to": s["hostname"]}, {"field": "displayName", "to": s["displayName"]},
                {"field": "os", "to": self.sys_os[args[0]]}])
        elif kind == "user_create":
            u = self.users[args[0]]
            u.active = self.pool_dirty = True
            ev = self._dir(kind, t, adm(args[1]), self.admin_ip, den)
            ev.update(resource=res(u), changes=[
                {"field": "firstname", "to": u.first}, {"field": "lastname", "to": u.last},
                {"field": "username", "to": u.username}, {"field": "email", "to": u.email},
                {"field": "created", "to": self._fmt(t, 3)}, {"field": "id", "to": u.id}])
        elif kind == "assoc":
            op, a, b, admin = args
            self._apply(op, a, b)
            api = self.rng.random() < 0.15
            ev = self._dir("association_change", t, adm(admin), self.admin_ip, den, api=api)
            grp = b if b[0].endswith("group") else a  # the vendor names the group end, else the `from` end
            obj = self._obj(grp)
            ev["resource"] = res(self.users[grp[1]]) if grp[0] == "user" else \
                {"id": obj["object_id"], "type": obj["type"], "name": obj["name"]}
            ev["association"] = {"op": op, "action_source": "manual",
                                 "connection": {"from": self._obj(a), "to": self._obj(b)}}
        elif kind in ("suspend", "user_delete", "user_unlocked"):
            u = self.users[args[0]]
            ev = self._dir("user_update" if kind == "suspend" else kind, t, adm(args[1]), self.admin_ip, den)
            ev["resource"] = res(u)
            if kind == "suspend":
                ev["changes"] = [{"field": "suspended", "from": False, "to": True}]
                u.active, self.pool_dirty = False, True
        elif kind in ("user_password_change", "totp_start_enrollment", "totp_finish_enrollment"):
            u = self.users[args[0]]
            ev = self._dir(kind, t, who(u), u.ips[0], u.loc, u.uas[0])
            ev["resource"] = res(u)
            u.mfa = u.mfa or kind == "totp_finish_enrollment"
        elif kind in ("fail", "user_lockout"):
            u, loc, ip = self.users[args[0]], args[1], args[2]
            ev = self._dir("user_login_attempt" if kind == "fail" else kind, t, who(u), ip, loc, 2)
            ev["resource"] = res(u)
            if kind == "fail":
                ev.update(success=False, mfa=False, error_message="invalid credentials")
        else:  # rfail: the Wi-Fi keeps the old password
            u = self.users[args[0]]
            ev = self._radius(u, int(t), self._fmt(t, 0), False)
        return ev

    # ---- the bulk: authentications -----------------------------------------------------------------------------
    def _auth(self, base: int, pfx: str, lo: int) -> dict[str, Any]:
        r = self.rng.random
        off = lo + int(r() * (3600 - lo))
        ep, sec = base + off, f"{pfx}{off // 60:02d}:{off % 60:02d}"
        x = r()
        if x < 0.003 and self.revoked:  # access after revocation: stale sessions, local accounts, forgotten keys
            u, kind, target = self.revoked[int(r() * len(self.revoked))]
            if target not in (u.apps if kind == "sso" else u.systems):
                ok = r() < 0.8
                return self._sso(u, ep, sec, target, ok) if kind == "sso" else self._sys(u, ep, sec, target, ok)
        elif x < 0.008:  # internet noise against the bastion's sshd
            name, loc = BRUTE_NAMES[int(r() * len(BRUTE_NAMES))], self.locs[HOSTILE[int(r() * len(HOSTILE))]]
            return self._sys(None, ep, sec, 5, False, name, loc)
        elif x < 0.016:
            a = int(r() * len(self.admins))
            ev = self._dir("admin_login_attempt", ep + r(), self._adm(a), self.admin_ip, self.locs["den"])
            ok = r() > 0.03
            ev.update(success=ok, mfa=ok)
            return ev
        if not self.pool:
            return self._dir("admin_login_attempt", ep + r(), self._adm(0), self.admin_ip, self.locs["den"]) \
                | {"success": True, "mfa": True}
        u = self.pool[int(r() * len(self.pool))]
        kind = u.menu[int(r() * len(u.menu))]
        ok = r() >= 0.06
        if kind == "sso":
            if not ok and r() < 0.3:  # tried an app they were never given
                return self._sso(u, ep, sec, int(r() * len(self.apps)), False)
            return self._sso(u, ep, sec, u.apps[int(r() * len(u.apps))], ok)
        if kind == "systems":
            return self._sys(u, ep, sec, u.systems[int(r() * len(u.systems))], ok)
        if kind == "radius":
            return self._radius(u, ep, sec + "Z", ok)
        if kind.startswith("ldap"):
            return self._ldap(u, ep, sec + "Z", ok, kind)
        loc, ip = self._where(u)
        ev = self._base("user_login_attempt", "directory", f"{sec}.{int(r() * 1000):03d}Z", ep)
        ev.update(initiated_by=self._who(u), success=ok, mfa=u.mfa and ok,
                  client_ip=ip, geoip=self._geo(loc), auth_method="session", provider=None)
        if u.mfa:
            ev["auth_context"] = {"auth_methods": {"password": {"success": ok}, "totp": {"success": ok}}}
        if not ok:
            ev["error_message"] = "invalid credentials" if r() < 0.8 else "mfa failed"
        self._ua(ev, u.uas[0] if r() < 0.8 else u.uas[1])
        return ev

    def _where(self, u: _User) -> tuple[_Loc, str]:
        """Home most of the time; now and then travel, or somewhere the user has never been."""
        r = self.rng.random
        if r() < 0.012:
            pool = TRAVEL if r() < 0.7 else HOSTILE
            loc = self.locs[pool[int(r() * len(pool))]]
            return loc, self._ip(loc)
        return u.loc, u.ips[0] if r() < 0.7 else u.ips[1]

    def _sso(self, u: _User, ep: int, sec: str, app: int, ok: bool) -> dict[str, Any]:
        r = self.rng.random
        loc, ip = self._where(u)
        ev = self._base("sso_auth", "sso", f"{sec}.{int(r() * 1e9):09d}Z", ep)
        ev.update(initiated_by=self._who(u), application=self.apps[app].copy(),
                  idp_initiated=r() < 0.55, success=ok, mfa=u.mfa and ok, client_ip=ip, geoip=self._geo(loc))
        if not ok:
            ev["error_message"] = "user is not assigned to this application" if app not in u.apps else "invalid credentials"
        self._ua(ev, u.uas[0] if r() < 0.75 else u.uas[1])
        return ev

    def _sys(self, u: _User | None, ep: int, sec: str, si: int, ok: bool, name: str = "",
             loc: _Loc | None = None) -> dict[str, Any]:
        os_ = self.sys_os[si]
        ev = self._base("login_attempt", "systems", sec + "Z", ep)
        ip = u.lan if u else self._ip(loc)  # type: ignore[arg-type]
        ev.update(initiated_by={"type": "systemuser", "id": u.sys_id, "username": u.username} if u else
                  {"type": "systemuser", "username": name}, system=self.systems[si].copy(),
                  username=u.username if u else name, src_ip=ip, client_ip=ip, success=ok, mfa=False,
                  process_name="sshd" if os_.startswith("Ubuntu") else "loginwindow" if os_.startswith("mac")
                  else "C:\\Windows\\System32\\svchost.exe", geoip=self._geo(u.loc if u else loc))
        if os_.startswith("Windows"):
            ev["windows_meta"] = {"elevated": False, "logon_type": 10 if "Server" in os_ else 2}
        if not ok:
            ev["error_message"] = "authentication failure"
        return ev

    def _radius(self, u: _User, ep: int, ts: str, ok: bool) -> dict[str, Any]:
        r = self.rng.random
        ev = self._base(self.radius_type, "radius", ts, ep)
        eap = r() < 0.85
        by = {"type": "user", "username": u.username}
        if r() < 0.5:
            by["id"] = u.id
        ev.update(initiated_by=by, username=u.username, auth_type="eap" if eap else "pap",
                  nas_mfa_state="ENABLED" if u.mfa else "DISABLED", mfa=u.mfa and ok, success=ok,
                  client_ip=f"{u.lan.rsplit('.', 2)[0]}.0.{11 + int(r() * 4)}", geoip=self._geo(u.loc))
        if eap:
            ev["eap_type"] = "PEAP" if r() < 0.8 else "EAP-TTLS"
            ev["outer"] = {"eap_type": ev["eap_type"], "username": "anonymous"}
        if not ok:
            ev["error_message"] = "invalid credentials"
            if eap:
                ev["outer"]["error_message"] = "invalid credentials"
        return ev

    def _ldap(self, u: _User, ep: int, ts: str, ok: bool, kind: str) -> dict[str, Any]:
        r = self.rng.random
        org_dn = f"o={self.org},dc=jumpcloud,dc=com"
        ev = self._base(kind, "ldap", ts, ep)
        ev.update(initiated_by={"type": "user", "username": u.username}, dn=f"uid={u.username},ou=Users,{org_dn}",
                  username=u.username, auth_method="simple", start_tls=False, tls_established=True,
                  client_ip=f"10.20.0.{30 + int(r() * 3)}")
        if kind == "ldap_bind":
            ev.update(operation_type="bind", error_code=0 if ok else 49, success=ok)
            if not ok:
                ev["error_message"] = "Invalid Credentials"
        else:
            ev.update(operation_type="search", base=f"ou=Users,{org_dn}", scope="sub", error_code=0, success=True,
                      filter=f"(&(objectClass=inetOrgPerson)(uid={u.username}))", number_of_results=1)
        return ev


def generate(*, users: int = 50, days: int = 30, events: int = 5000, seed: int = 1,
             organization: str = "5f0000000000000000000001", end: datetime | None = None) -> Iterator[dict]:
    """Yield exactly `events` vendor-shaped event dicts covering `days` days before `end` (default 2026-11-01Z).

    Same arguments, same events and ids. The first directory changes (setup, onboarding, offboarding, revoked
    grants, lockouts) come first when `events` is smaller than that plan; the rest are authentications.
    Every dict is fresh (nested objects are copies), so a consumer may mutate what it receives.
    """
    if users < 1 or days < 1 or events < 0:
        raise ValueError("users and days must be >= 1 and events >= 0")
    end = end or DEFAULT_END
    if end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    return _World(users, days, seed, organization, end).stream(events)
