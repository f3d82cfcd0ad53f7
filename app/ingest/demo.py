"""Deterministic demo history of JumpCloud Directory Insights events, in the vendor's own JSON shapes.

Why: the graph and its investigations need a believable organisation without a JumpCloud tenant. Admins set it
up, people join and leave, grants are revoked, a couple of accounts see failure bursts from abroad, and a few
people still reach things after their access was removed. The history streams out hour by hour (shuffled within
the hour); only the org tables and the plan of directory changes (a few items per user) stay in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

DEFAULT_END = datetime(2026, 11, 1, tzinfo=timezone.utc)
DOMAIN = "example.com"
Ref = tuple[str, int]  # (vendor object type, index into that type's table)
Event = dict[str, Any]

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
OFFICES, REMOTE = ("den", "sfo", "nyc", "lon"), ("aus", "ber", "yyz", "blr", "sao")
TRAVEL, HOSTILE = ("par", "tyo", "mex"), ("los", "mow", "han", "buh")
_WK, _MAC = "AppleWebKit/537.36 (KHTML, like Gecko)", "Macintosh; Intel Mac OS X 10_15_7"
# name, major, minor, patch, os, os_major, os_minor, device, the raw User-Agent header
_UAS = (
    ("Chrome", "141", "0", "7390", "Mac OS X", "10", "15", "Other",
     f"Mozilla/5.0 ({_MAC}) {_WK} Chrome/141.0.7390.122 Safari/537.36"),
    ("Chrome", "141", "0", "7390", "Windows", "10", "", "Other",
     f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WK} Chrome/141.0.7390.122 Safari/537.36"),
    ("Firefox", "144", "0", "", "Windows", "10", "", "Other",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:144.0) Gecko/20100101 Firefox/144.0"),
    ("Safari", "18", "6", "", "Mac OS X", "10", "15", "Other",
     f"Mozilla/5.0 ({_MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Safari/605.1.15"),
    ("Edge", "141", "0", "3537", "Windows", "10", "", "Other",
     f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_WK} Chrome/141.0.0.0 Safari/537.36 Edg/141.0.3537.85"),
    ("Mobile Safari", "18", "6", "", "iOS", "18", "6", "iPhone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac"
     " OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1"),
    ("Chrome Mobile", "141", "0", "7390", "Android", "15", "", "Pixel 8",
     f"Mozilla/5.0 (Linux; Android 15; Pixel 8) {_WK} Chrome/141.0.7390.122 Mobile Safari/537.36"),
)
FIRST = ("Sarah James Maria Wei Aisha Tom Elena Raj Chloe Diego Hannah Kenji Olivia Samir Grace Lucas Nora Ivan Zoe "
         "Omar Emma Noah Priya Liam Fatima Ethan Yuki Mateo Ava Daniel Leila Jonas Ruth Carlos Mia Felix Amara Ben "
         "Sofia Kwame").split()
LAST = ("Lucero Chen Okafor Patel Novak Garcia Smith Kim Muller Rossi Haddad Silva Nguyen Brown Costa Dubois Ivanova "
        "Tanaka Walsh Cohen Adeyemi Larsen Moreno Singh Fischer Baker Ortiz Kowalski Ali Murphy Reyes Schmidt Park "
        "Hughes Varga Mendes Quinn Sato Berg Ward").split()
USER_GROUPS = ("All Staff", "Engineering", "Sales", "Finance", "IT", "Contractors")
DEPT_WEIGHTS = (0, 40, 22, 10, 8, 20)  # everyone but contractors is also in All Staff
SYSTEM_GROUPS = ("Production Servers", "Build Agents", "Workstations")
APPS = (("GitHub", "GitHub", "github"), ("Slack", "Slack", "slack"), ("Salesforce", "Salesforce", "salesforce"),
        ("AWS", "AWS IAM Identity Center", "aws"), ("Zoom", "Zoom", "zoom"), ("Jira", "Atlassian Jira", "jira"),
        ("Google Workspace", "Google Workspace", "google"), ("NetSuite", "NetSuite", "netsuite"))
RADIUS, LDAP = "Office Wi-Fi", "JumpCloud LDAP"
SERVERS = (("build-01", "Ubuntu 22.04", 1), ("build-02", "Ubuntu 22.04", 1), ("prod-web-01", "Ubuntu 24.04", 0),
           ("prod-web-02", "Ubuntu 24.04", 0), ("prod-db-01", "Ubuntu 24.04", 0), ("bastion-01", "Ubuntu 24.04", 0),
           ("fin-reports-01", "Windows Server 2022", None))  # hostname, os, system group
BASTION = 5
GRANTS = {  # user group -> (object type, name) it is bound to
    "All Staff": (("application", "Slack"), ("application", "Zoom"), ("application", "Google Workspace"),
                  ("radius_server", RADIUS)),
    "Engineering": (("application", "GitHub"), ("application", "AWS"), ("application", "Jira"),
                    ("system_group", "Build Agents"), ("system_group", "Production Servers"), ("ldap_server", LDAP)),
    "Sales": (("application", "Salesforce"),),
    "Finance": (("application", "NetSuite"), ("application", "Salesforce"), ("system", "fin-reports-01")),
    "IT": (("application", "AWS"), ("application", "GitHub"), ("application", "Jira"), ("ldap_server", LDAP),
           ("system_group", "Production Servers"), ("system_group", "Workstations"), ("radius_server", RADIUS)),
    "Contractors": (("application", "Slack"), ("application", "Jira"), ("application", "GitHub")),
}
REVOKED = (("Contractors", "application", "GitHub", 0.45), ("Engineering", "system_group", "Production Servers", 0.6))
BRUTE_NAMES = ("root", "admin", "ubuntu", "test", "oracle", "postgres")


@dataclass(slots=True)
class _Loc:
    geo: Event
    old: Event  # the older `country_code2` spelling, without coordinates
    prefixes: tuple[str, ...]


_NOWHERE = _Loc({}, {}, ("0.0",))


@dataclass(slots=True)
class _User:
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
    weight: int  # how chatty this person is
    id: str = ""
    sys_id: str = ""  # the systemuser id the systems service reports
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
    """The org, the plan of directory changes, and the access those changes produce as the history plays."""

    def __init__(self, users: int, days: int, seed: int, org: str, end: datetime) -> None:
        self.rng = rng = random.Random(seed)
        self.org, self.E, self.H = org, int(end.timestamp()), days * 86400
        self.S = self.E - self.H
        self.esalt, self.osalt = f"{seed * 0x9E3779B1 & 0xFFFFFF:06x}", f"{seed * 0x85EBCA6B + 7 & 0xFFFFFF:06x}"
        self.n, self.on = 0, 1 << 39  # event and object counters in disjoint ranges: ids never collide
        self.locs = {k: _Loc({"country_code": v[0], "continent_code": v[1], "region_code": v[2], "region_name": v[3],
                              "timezone": v[4], "latitude": v[5], "longitude": v[6]},
                             {"timezone": v[4], "country_code2": v[0], "continent_code": v[1], "region_name": v[3],
                              "region_code": v[2]}, v[7]) for k, v in _GEO.items()}
        self.uas = [({"name": u[0], "major": u[1], "minor": u[2], "patch": u[3], "os": u[4], "os_name": u[4],
                      "os_major": u[5], "os_minor": u[6], "device": u[7], "build": ""}, u[8]) for u in _UAS]
        pre = self.S - 400 * 86400  # the org and its first admin predate the history
        names = ("Dana Whitfield", "Marco Ruiz", "Priya Nair")[: 3 if users >= 10 else 1]
        self.admins = [(self._oid(pre), n.replace(" ", ".").lower() + "@" + DOMAIN) for n in names]
        self.admin_ip, self.hq = self._ip(self.locs["den"]), self.locs["den"]
        self.apps = [{"id": self._oid(pre), "name": n, "display_label": d, "sso_type": "saml",
                      "sso_url": f"https://sso.jumpcloud.com/saml2/{s}"} for n, d, s in APPS]
        self.systems: list[Event] = []
        self.sys_os: list[str] = []
        self.objs: dict[str, list[tuple[str, str]]] = {  # type -> [(id, name)], users apart
            "user_group": [(self._oid(pre), g) for g in USER_GROUPS], "system": [],
            "system_group": [(self._oid(pre), g) for g in SYSTEM_GROUPS],
            "application": [(a["id"], a["name"]) for a in self.apps],
            "radius_server": [(self._oid(pre), RADIUS)], "ldap_server": [(self._oid(pre), LDAP)]}
        self.g_members: list[set[int]] = [set() for _ in USER_GROUPS]
        self.g_grants: list[set[Ref]] = [set() for _ in USER_GROUPS]
        self.sg_sys: list[set[int]] = [set() for _ in SYSTEM_GROUPS]
        self.dirty: set[int] = set()
        self.revoked: list[tuple[_User, str, int]] = []  # (user, "sso" | "systems", target) they lost
        self.pool: list[_User] = []  # active users, repeated by weight
        self.pool_dirty = False
        self.p_old, self.radius_type = 0.35, "radius_auth"  # the older spellings, early in the history
        self.taken: set[str] = set()
        self.name_off = (rng.randrange(len(FIRST)), rng.randrange(len(LAST)))
        self.users = [self._user(i) for i in range(users)]
        self.plan: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._make_plan()

    def _oid(self, t: float) -> str:
        self.on += 1
        return f"{int(t):08x}{self.osalt}{self.on:010x}"

    def _ip(self, loc: _Loc) -> str:
        r = self.rng.random
        return f"{loc.prefixes[int(r() * len(loc.prefixes))]}.{int(r() * 254) + 1}.{int(r() * 253) + 2}"

    def _user(self, i: int) -> _User:
        rng, (b, a) = self.rng, divmod(i, len(FIRST))
        first = FIRST[(a + self.name_off[0]) % len(FIRST)]
        last = LAST[(7 * a + b + self.name_off[1]) % len(LAST)]  # distinct pairs for the first 1600 users
        suffix = "" if i < len(FIRST) * len(LAST) else str(i)
        uname = (first[0] + last).lower() + suffix
        for k in range(2, 99):  # two S. Chens become schen and schen2, as admins do it
            if uname not in self.taken:
                break
            uname = f"{(first[0] + last).lower()}{suffix}{k}"
        self.taken.add(uname)
        remote = rng.random() < 0.3
        key = rng.choice(REMOTE if remote else OFFICES)
        loc, net, ua = self.locs[key], 99 if remote else 20 + OFFICES.index(key), rng.randrange(len(_UAS))
        return _User(uname, f"{first}.{last}{suffix}@{DOMAIN}".lower(), first, last, loc, remote,
                     (self._ip(loc), self._ip(loc)), f"10.{net}.{1 + i // 240}.{10 + i % 240}",
                     (ua, rng.choice((ua, 5, 6))), rng.choices(range(len(USER_GROUPS)), DEPT_WEIGHTS)[0],
                     rng.choice((1, 1, 2, 3, 5)))

    def _fmt(self, t: float, digits: int) -> str:
        base = datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{base}.{int((t % 1) * 10 ** digits):0{digits}d}Z" if digits else base + "Z"

    def _obj(self, ref: Ref) -> Event:
        typ, i = ref
        oid, name = (self.users[i].id, self.users[i].username) if typ == "user" else self.objs[typ][i]
        return {"object_id": oid, "type": typ, "name": name}

    # ---- the plan: every directory change, in time ------------------------------------------------------
    def _add(self, t: float, kind: str, *args: Any) -> None:
        jitter = self.rng.random()  # real changes land on any millisecond
        self.plan.append((min(max(t + jitter, self.S), self.E - 1.0), len(self.plan), kind, args))

    def _admin_event(self, t: float, etype: str, admin: int, resource: Event, changes: list[Event] | None,
                     api: bool = False, effect: tuple[bool, int] | None = None) -> None:
        """Plan an admin's change; `effect` (active?, user) is applied to the state when it plays."""
        self._add(t, "admin", etype, admin, resource, changes, api, effect)

    @staticmethod
    def _ures(u: _User) -> Event:
        return {"id": u.id, "type": "user", "username": u.username, "email": u.email}

    def _make_plan(self) -> None:
        rng, H, n, add = self.rng, self.H, len(self.users), self._add
        late = set(rng.sample(range(n), n * 15 // 100)) if n >= 5 else set()
        early = [i for i in range(n) if i not in late]
        gap = min(25.0, 0.08 * H / (60 + 5 * n))  # setup takes at most ~8% of the history
        t = self.S + (15 * 3600 if H >= 2 * 86400 else 60)  # setup starts at 09:00 in Denver
        add(t - 90, "admin_login", 0)
        for a, (aid, email) in enumerate(self.admins[1:], 1):
            self._admin_event(t := t + gap, "admin_create", 0, {"id": aid, "type": "admin", "email": email}, [
                              {"field": "email", "to": email},
                              {"field": "created", "to": self._fmt(t, 3)}, {"field": "id", "to": aid}])
        for typ in ("user_group", "system_group", "application", "radius_server"):
            for k, (oid, name) in enumerate(self.objs[typ]):
                etype = {"application": "application_create", "radius_server": "radiusserver_create"}.get(typ)
                changes = [{"field": "name", "to": name}]
                if typ == "application":
                    changes += [{"field": "displayLabel", "to": self.apps[k]["display_label"]},
                                {"field": "ssoUrl", "to": self.apps[k]["sso_url"]}]
                self._admin_event(t := t + gap, etype or "group_create", 0, {"id": oid, "type": typ, "name": name},
                                  changes)
        for host, os_, sg in SERVERS:
            si = self._system(host, os_, host, t := t + gap)
            if sg is not None:
                add(t := t + gap, "assoc", "add", ("system", si), ("system_group", sg), 0)
        names = {typ: [nm for _, nm in lst] for typ, lst in self.objs.items()}
        for g, gname in enumerate(USER_GROUPS):
            for typ, name in GRANTS[gname]:
                add(t := t + gap, "assoc", "add", ("user_group", g), (typ, names[typ].index(name)), 0)
        for i in early:
            t = self._join(t + gap, i, gap, 0)
        for i in rng.sample(early, min(3, len(early))):  # a few direct user -> application bindings
            add(t := t + gap, "assoc", "add", ("user", i), ("application", rng.randrange(len(self.apps))), 0)

        def at(frac: float) -> float:  # the rest of the story happens after the setup, spread over what is left
            return t + (self.E - t) * frac

        for i in sorted(late):  # onboarding mid-history, by any admin
            self._join(at(0.05 + 0.8 * rng.random()), i, 60.0, rng.randrange(len(self.admins)))
        a1 = 1 % len(self.admins)
        for gname, typ, name, frac in REVOKED:
            add(at(frac), "assoc", "remove", ("user_group", USER_GROUPS.index(gname)),
                (typ, names[typ].index(name)), a1)
        rng.shuffle(early)
        targets, leavers = early[:2], early[2: 2 + max(1 if n >= 4 else 0, n // 12)]
        stayers = early[2 + len(leavers):]
        for i in leavers:
            self._leave(at(0.3 + 0.6 * rng.random()), i, a1)
        for i in [i for i in stayers if self.users[i].dept == 2][:1]:  # Sales -> Engineering; Salesforce lingers
            add(tm := at(0.25 + 0.2 * rng.random()), "assoc", "remove", ("user", i), ("user_group", 2), a1)
            add(tm + 40, "assoc", "add", ("user", i), ("user_group", 1), a1)
        for i, u in enumerate(self.users):
            span = min(u.gone, self.E) - u.created - 3600
            for _ in range(int(H / 86400 / 45 + rng.random()) if span > 0 else 0):
                add(u.created + 3600 + span * rng.random(), "user", "user_password_change", i)
            if span > 0 and rng.random() < 0.65:
                add(ts := u.created + 3600 + span * rng.random() * 0.7, "user", "totp_start_enrollment", i)
                if rng.random() < 0.9:
                    add(ts + 30 + 240 * rng.random(), "user", "totp_finish_enrollment", i)
        for i in targets:  # failure bursts from abroad, a lockout, an admin unlock
            for _ in range(1 + rng.randrange(2)):
                tb, loc = at(0.15 + 0.8 * rng.random()), self.locs[rng.choice(HOSTILE)]
                ip = self._ip(loc)
                for _ in range(8 + rng.randrange(18)):
                    add(tb := tb + 5 + 35 * rng.random(), "user", "user_login_attempt", i, loc, ip)
                add(tb + 1, "user", "user_lockout", i, loc, ip)
                self._admin_event(tb + 1200 + 9000 * rng.random(), "user_unlocked", a1, self._ures(self.users[i]), None)
        wifi = [i for i in stayers if not self.users[i].remote and self.users[i].dept != 5]
        if wifi:  # a password change the office Wi-Fi profile did not follow
            add(tw := at(0.25 + 0.65 * rng.random()), "user", "user_password_change", wifi[0])
            for k in range(4 + rng.randrange(6)):
                add(tw + 120 + 200 * k * rng.random(), "rfail", wifi[0])
        self.plan.sort()

    def _system(self, host: str, os_: str, display: str, t: float) -> int:
        sid = self._oid(t)
        self.systems.append({"id": sid, "hostname": host, "displayName": display})
        self.sys_os.append(os_)
        self.objs["system"].append((sid, host))
        self._admin_event(t, "system_create", 0, {"id": sid, "type": "system", "name": host}, [
                          {"field": "hostname", "to": host},
                          {"field": "displayName", "to": display}, {"field": "os", "to": os_}], api=True)
        return len(self.systems) - 1

    def _join(self, t: float, i: int, gap: float, admin: int) -> float:
        u = self.users[i]
        u.created, u.id, u.sys_id = t, self._oid(t), self._oid(t)  # ObjectIds carry their creation time
        self._admin_event(t, "user_create", admin, self._ures(u), [
            {"field": "firstname", "to": u.first}, {"field": "lastname", "to": u.last},
            {"field": "username", "to": u.username}, {"field": "email", "to": u.email},
            {"field": "created", "to": self._fmt(t, 3)}, {"field": "id", "to": u.id}], effect=(True, i))
        for g in ((u.dept,) if u.dept == 5 else (0, u.dept)):
            self._add(t := t + gap, "assoc", "add", ("user", i), ("user_group", g), admin)
            u.groups.add(g)  # planned membership; play starts from empty tables
        if self.rng.random() < 0.4 and u.dept != 5:  # a laptop, bound directly to its owner
            mac = u.dept != 3
            si = self._system(f"{u.username}-{'mbp' if mac else 'ws'}", "macOS 15.1" if mac else "Windows 11 Pro",
                              f"{u.first}'s {'MacBook Pro' if mac else 'Workstation'}", t := t + gap)
            self._add(t := t + gap, "assoc", "add", ("system", si), ("system_group", 2), admin)
            self._add(t := t + gap, "assoc", "add", ("user", i), ("system", si), admin)
            u.dsys.add(si)
        return t

    def _leave(self, t: float, i: int, admin: int) -> None:
        u = self.users[i]
        for si in sorted(u.dsys):
            self._add(t := t + 30, "assoc", "remove", ("user", i), ("system", si), admin)
        for g in sorted(u.groups):
            self._add(t := t + 20 + 40 * self.rng.random(), "assoc", "remove", ("user", i), ("user_group", g), admin)
        u.gone = t = t + 120 + 480 * self.rng.random()
        self._admin_event(t, "user_update", admin, self._ures(u), [{"field": "suspended", "from": False, "to": True}],
                          effect=(False, i))
        if self.rng.random() < 0.5:
            self._admin_event(t + 86400 * (1 + 5 * self.rng.random()), "user_delete", admin, self._ures(u), None)

    # ---- playing the history -----------------------------------------------------------------------------
    def stream(self, events: int) -> Iterator[Event]:
        for u in self.users:
            u.groups, u.dsys = set(), set()
        plan = self.plan[:events]
        base0 = self.S - self.S % 3600  # slots are clock hours; the first and last may be partial
        bulk, nslots = max(0, events - len(plan)), -(-(self.E - base0) // 3600)
        first_user = min((p[0] for p in plan if p[2] == "admin" and p[3][0] == "user_create"), default=float(self.E))
        weights = []
        for s in range(nslots):  # busy in US/EU working hours, quiet at weekends, nothing before the first user
            base = base0 + 3600 * s
            dt = datetime.fromtimestamp(base, timezone.utc)
            w = (8 if 13 <= dt.hour <= 23 else 3 if dt.hour < 3 or dt.hour >= 7 else 1) * (4 if dt.weekday() < 5 else 1)
            span = min(3600, self.E - base) - max(0, self.S - base)
            weights.append(0 if base + 3600 <= first_user else w * span)
        total_w, cum, done, li = sum(weights) or 1, 0, 0, 0
        for s in range(nslots):
            base = base0 + 3600 * s
            cum += weights[s]
            count = bulk * cum // total_w - done  # exact total, spread by weight
            done += count
            lo, hi = max(0, self.S - base), min(3600, self.E - base)
            while li < len(plan) and plan[li][0] < base + 3600:  # this hour's changes come before its logins
                lo = max(lo, min(hi - 1, int(plan[li][0]) - base + 1))
                li += 1
                yield self._life(plan[li - 1])
            self._settle()
            self.p_old = 0.35 if s < nslots * 0.3 else 0.03
            self.radius_type = "radius_auth" if s < nslots * 0.4 else "radius_auth_attempt"
            pfx = datetime.fromtimestamp(base, timezone.utc).strftime("%Y-%m-%dT%H:")
            for _ in range(count):
                yield self._auth(base, pfx, lo, hi)

    def _settle(self) -> None:
        """Recompute the access of users whose grants changed; remember what they lost, for later misuse."""
        for u in (self.users[i] for i in sorted(self.dirty)):
            apps, systems, radius, ldap = set(u.dapps), set(u.dsys), False, False
            for typ, i in (ref for g in u.groups for ref in self.g_grants[g]):
                if typ == "application":
                    apps.add(i)
                elif typ in ("system", "system_group"):
                    systems |= {i} if typ == "system" else self.sg_sys[i]
                radius, ldap = radius or typ == "radius_server", ldap or typ == "ldap_server"
            self.revoked += [(u, "sso", a) for a in u.apps if a not in apps]
            self.revoked += [(u, "systems", x) for x in u.systems if x not in systems]
            u.apps, u.systems = tuple(sorted(apps)), tuple(sorted(systems))
            u.menu = (("portal",) * 3 + ("sso",) * 9 * bool(apps) + ("systems",) * 3 * bool(systems)  # what they use
                      + ("radius",) * 3 * (radius and not u.remote) + ("ldap_bind",) * 2 * ldap
                      + ("ldap_search",) * ldap)
        self.dirty.clear()
        if self.pool_dirty:
            self.pool, self.pool_dirty = [u for u in self.users if u.active for _ in range(u.weight)], False

    def _apply(self, op: str, a: Ref, b: Ref) -> None:
        put: Callable[[set[Any], Any], None] = set.add if op == "add" else set.discard
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

    def _base(self, etype: str, service: str, ts: str, ep: int) -> Event:
        self.n += 1
        return {"id": f"{ep:08x}{self.esalt}{self.n:010x}", "event_type": etype, "service": service,
                "timestamp": ts, "organization": self.org, "@version": "1"}

    def _dir(self, etype: str, t: float, by: Event, ip: str, loc: _Loc, ua: int | None = 0, api: bool = False) -> Event:
        ev = self._base(etype, "directory", self._fmt(t, 3), int(t))
        ev.update(initiated_by=by, client_ip=ip, geoip=self._geo(loc), auth_method="api key" if api else "session",
                  provider=None)
        if ua is not None and not api:
            x, (obj, raw) = self.rng.random(), self.uas[ua]
            if x < 0.05:
                ev["useragent"] = raw  # the ingest enriches raw strings
            else:
                ev["user_agent" if x < 0.15 else "useragent"] = obj.copy()
        return ev

    def _geo(self, loc: _Loc) -> Event:
        return (loc.old if self.rng.random() < self.p_old else loc.geo).copy()

    def _adm(self, a: int) -> Event:
        return {"id": self.admins[a][0], "type": "admin", "email": self.admins[a][1]}

    def _life(self, item: tuple[float, int, str, tuple[Any, ...]]) -> Event:
        """One planned directory change: apply it to the state and render its event."""
        t, _, kind, args = item
        if kind == "admin":
            etype, admin, resource, changes, api, effect = args
            ev = self._dir(etype, t, self._adm(admin), self.admin_ip, self.hq, api=api)
            ev["resource"] = resource
            if changes:
                ev["changes"] = changes
            if effect:
                self.users[effect[1]].active, self.pool_dirty = effect[0], True
        elif kind == "assoc":
            op, a, b, admin = args
            self._apply(op, a, b)
            ev = self._dir("association_change", t, self._adm(admin), self.admin_ip, self.hq,
                           api=self.rng.random() < 0.15)
            res = self._obj(b if b[0].endswith("group") else a)  # the vendor names the group end, else `from`
            ev["resource"] = {"id": res["object_id"], "type": res["type"],
                              ("username" if res["type"] == "user" else "name"): res["name"]}
            ev["association"] = {"op": op, "action_source": "manual",
                                 "connection": {"from": self._obj(a), "to": self._obj(b)}}
        elif kind == "user":  # the person themselves: password, TOTP, a burst of failures, the lockout
            etype, i, *where = args
            u = self.users[i]
            loc, ip = where or (u.loc, u.ips[0])
            ev = self._dir(etype, t, {"id": u.id, "type": "user", "username": u.username}, ip, loc,
                           2 if where else u.uas[0])
            ev["resource"] = self._ures(u)
            if etype == "user_login_attempt":
                ev.update(success=False, mfa=False, error_message="invalid credentials")
            u.mfa = u.mfa or etype == "totp_finish_enrollment"
        elif kind == "admin_login":
            ev = self._dir("admin_login_attempt", t, self._adm(args[0]), self.admin_ip, self.hq)
            ev.update(success=True, mfa=True)
        else:  # rfail: the Wi-Fi still offers the old password
            ev = self._radius(self.users[args[0]], int(t), self._fmt(t, 0), False)
        return ev

    # ---- the bulk: authentications ----------------------------------------------------------------------------
    def _auth(self, base: int, pfx: str, lo: int, hi: int) -> Event:
        r = self.rng.random
        off = lo + int(r() * (hi - lo))
        ep, sec, x = base + off, f"{pfx}{off // 60:02d}:{off % 60:02d}", r()
        if x < 0.003 and self.revoked:  # access after revocation: stale sessions, local accounts, old keys
            u, kind, target = self.revoked[int(r() * len(self.revoked))]
            if target not in (u.apps if kind == "sso" else u.systems):
                ok = r() < 0.8
                return self._sso(u, ep, sec, target, ok) if kind == "sso" else self._sys(u, ep, sec, target, ok)
        elif x < 0.008:  # internet noise against the bastion's sshd
            return self._sys(None, ep, sec, BASTION, False, (BRUTE_NAMES[int(r() * len(BRUTE_NAMES))],
                                                             self.locs[HOSTILE[int(r() * len(HOSTILE))]]))
        if x < 0.016 or not self.pool:
            ev = self._dir("admin_login_attempt", ep + r(), self._adm(int(r() * len(self.admins))), self.admin_ip,
                           self.hq)
            ok = r() > 0.03
            return ev | {"success": ok, "mfa": ok}
        u = self.pool[int(r() * len(self.pool))]
        kind, ok = u.menu[int(r() * len(u.menu))], r() >= 0.075
        if kind == "sso":
            if not ok and r() < 0.3:  # tried an app they were never given
                return self._sso(u, ep, sec, int(r() * len(self.apps)), False)
            return self._sso(u, ep, sec, u.apps[int(r() * len(u.apps))], ok)
        if kind == "systems":
            return self._sys(u, ep, sec, u.systems[int(r() * len(u.systems))], ok)
        if kind == "radius":
            return self._radius(u, ep, sec + "Z", ok)
        if kind != "portal":
            return self._ldap(u, ep, sec + "Z", ok, kind)
        loc, ip = self._where(u)
        ev = self._dir("user_login_attempt", ep + r(), {"id": u.id, "type": "user", "username": u.username}, ip, loc,
                       u.uas[0] if r() < 0.8 else u.uas[1])
        ev.update(success=ok, mfa=u.mfa and ok)
        if u.mfa:
            ev["auth_context"] = {"auth_methods": {"password": {"success": ok}, "totp": {"success": ok}}}
        if not ok:
            ev["error_message"] = "invalid credentials" if r() < 0.8 else "mfa failed"
        return ev

    def _where(self, u: _User) -> tuple[_Loc, str]:
        """Home most of the time; now and then travel, or somewhere the user has never been."""
        r = self.rng.random
        if r() < 0.012:
            pool = TRAVEL if r() < 0.7 else HOSTILE
            loc = self.locs[pool[int(r() * len(pool))]]
            return loc, self._ip(loc)
        return u.loc, u.ips[0] if r() < 0.7 else u.ips[1]

    def _sso(self, u: _User, ep: int, sec: str, app: int, ok: bool) -> Event:
        r = self.rng.random
        loc, ip = self._where(u)
        ev = self._base("sso_auth", "sso", f"{sec}.{int(r() * 1e9):09d}Z", ep)
        ev.update(initiated_by={"id": u.id, "type": "user", "username": u.username}, application=self.apps[app].copy(),
                  idp_initiated=r() < 0.55, success=ok, mfa=u.mfa and ok, client_ip=ip, geoip=self._geo(loc))
        if not ok:
            ev["error_message"] = "invalid credentials" if app in u.apps else "user is not assigned to this application"
        obj, raw = self.uas[u.uas[0] if r() < 0.75 else u.uas[1]]
        ev["useragent"] = raw if r() < 0.05 else obj.copy()
        return ev

    def _sys(self, u: _User | None, ep: int, sec: str, si: int, ok: bool,
             stranger: tuple[str, _Loc] = ("", _NOWHERE)) -> Event:
        """A login to a system: a user over the LAN, or (u=None) a stranger guessing names from the internet."""
        if u is not None:
            by, name, ip, loc = {"type": "systemuser", "id": u.sys_id, "username": u.username}, u.username, u.lan, u.loc
        else:
            (name, loc), ip = stranger, self._ip(stranger[1])
            by = {"type": "systemuser", "username": name}
        os_ = self.sys_os[si]
        ev = self._base("login_attempt", "systems", sec + "Z", ep)
        ev.update(initiated_by=by, system=self.systems[si].copy(), username=name, src_ip=ip, client_ip=ip,
                  success=ok, mfa=False, geoip=self._geo(loc), process_name="sshd" if os_.startswith("Ubuntu")
                  else "loginwindow" if os_.startswith("mac") else "C:\\Windows\\System32\\svchost.exe")
        if os_.startswith("Windows"):
            ev["windows_meta"] = {"elevated": False, "logon_type": 10 if "Server" in os_ else 2}
        if not ok:
            ev["error_message"] = "authentication failure"
        return ev

    def _radius(self, u: _User, ep: int, ts: str, ok: bool) -> Event:
        r = self.rng.random
        eap = "PEAP" if r() < 0.7 else "EAP-TTLS" if r() < 0.6 else ""
        ev = self._base(self.radius_type, "radius", ts, ep)
        ev.update(initiated_by={"type": "user", "username": u.username} | ({"id": u.id} if r() < 0.5 else {}),
                  username=u.username, auth_type="eap" if eap else "pap", nas_mfa_state="ENABLED" if u.mfa else
                  "DISABLED", mfa=u.mfa and ok, success=ok, geoip=self._geo(u.loc),
                  client_ip=f"{u.lan.rsplit('.', 2)[0]}.0.{11 + int(r() * 4)}")  # the office access points
        if eap:
            ev.update(eap_type=eap, outer={"eap_type": eap, "username": "anonymous"})
        if not ok:
            ev["error_message"] = "invalid credentials"
            if eap:
                ev["outer"]["error_message"] = "invalid credentials"
        return ev

    def _ldap(self, u: _User, ep: int, ts: str, ok: bool, kind: str) -> Event:
        org_dn = f"o={self.org},dc=jumpcloud,dc=com"
        ev = self._base(kind, "ldap", ts, ep)
        ev.update(initiated_by={"type": "user", "username": u.username}, dn=f"uid={u.username},ou=Users,{org_dn}",
                  username=u.username, auth_method="simple", start_tls=False, tls_established=True,
                  client_ip=f"10.20.0.{30 + int(self.rng.random() * 3)}")  # the apps that bind
        if kind == "ldap_bind":
            ev.update(operation_type="bind", error_code=0 if ok else 49, success=ok)
            if not ok:
                ev["error_message"] = "Invalid Credentials"
        else:
            ev.update(operation_type="search", base=f"ou=Users,{org_dn}", scope="sub", error_code=0, success=True,
                      filter=f"(&(objectClass=inetOrgPerson)(uid={u.username}))", number_of_results=1)
        return ev


def generate(*, users: int = 50, days: int = 30, events: int = 5000, seed: int = 1,
             organization: str = "5f0000000000000000000001", end: datetime | None = None) -> Iterator[Event]:
    """Yield exactly `events` vendor-shaped events covering `days` days before `end` (default 2026-11-01Z).

    Same arguments, same events and ids. When `events` is smaller than the plan of directory changes
    (setup, onboarding, offboarding, revocations, lockouts) only its start is yielded; the rest are
    authentications. Every dict is fresh (nested objects are copies), so a consumer may mutate what it gets.
    """
    if users < 1 or days < 1 or events < 0:
        raise ValueError("users and days must be >= 1 and events >= 0")
    end = end or DEFAULT_END
    return _World(users, days, seed, organization, end if end.tzinfo else end.replace(tzinfo=timezone.utc)) \
        .stream(events)
