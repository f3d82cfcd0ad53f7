// A user: who they are, account status over time, the lifecycle as a timeline, their access as a graph at an
// instant (time slider; each edge explains itself), the access diff between two instants, sign-ins per resource.
import { useEffect, useMemo, useState } from "preact/hooks";
import { Empty, ErrorBox, Loading, RefLink, Section, eventHref, useQuery, type Ref } from "../components";
import { setParams } from "../router";
import { enc, iso, parseInstant, pct, show } from "../util";
import { AccessGraph, HOP_FIELDS, edgesOf, type EventSummary, type GraphEdge, type Hop } from "./graph";

const PROFILE = `query UserProfile($id: ID!) {
  user(id: $id) { id username email name
    lifecycle { id timestamp kind eventType service success clientIp country
      initiator { type email username } counterpart { label type id name } changes { field from to } }
    accessHistory { resource { label type id name } firstSeen lastSeen lastSuccess attempts successes failures
      mfaShare countries clientIps } } }`;
const ACCESS = `query UserAccess($id: ID!, $asOf: DateTime) {
  user(id: $id) {
    access(asOf: $asOf) { resource { label type id name } paths { kind since hops { ${HOP_FIELDS} } } }
    groups(asOf: $asOf) { group { label type id name } direct paths { hops { ${HOP_FIELDS} } } } } }`;
const DIFF = `query UserDiff($id: ID!, $from: DateTime!, $to: DateTime!) {
  user(id: $id) { accessDiff(from: $from, to: $to) {
    gained { resource { label type id name } events { id timestamp eventType clientIp initiator { email username } } }
    lost { resource { label type id name } events { id timestamp eventType clientIp initiator { email username } } } } } }`;

type Entry = {
  id: string; timestamp: string; kind: string; eventType: string; service: string; success: boolean | null;
  clientIp: string | null; country: string | null; initiator: { type: string; email: string | null; username: string | null } | null;
  counterpart: Ref | null; changes: { field: string; from: unknown; to: unknown }[];
};

const STATUS_OF: Record<string, string> = {
  created: "active", activated: "active", unsuspended: "active", unlocked: "active",
  suspended: "suspended", locked: "locked", deleted: "deleted",
};

function who(i: { email: string | null; username: string | null; type?: string } | null): string {
  return i ? i.email || i.username || i.type || "" : "";
}

function StatusBand({ entries, lo, hi }: { entries: Entry[]; lo: number; hi: number }) {
  const changes = entries.filter((e) => STATUS_OF[e.kind]).map((e) => ({ t: Date.parse(e.timestamp), s: STATUS_OF[e.kind] }));
  if (!changes.length) return <Empty>No status changes recorded.</Empty>;
  const segs = changes.map((c, i) => ({ ...c, end: i + 1 < changes.length ? changes[i + 1].t : hi }));
  const span = Math.max(hi - lo, 1);
  return (
    <div>
      <div class="band" aria-label="Account status over time">
        {segs.map((s) => (
          <span class={`seg ${s.s}`} style={{ left: `${((s.t - lo) / span) * 100}%`, width: `${Math.max(((s.end - s.t) / span) * 100, 0.5)}%` }}
                title={`${s.s} from ${show(iso(s.t))}`} />
        ))}
      </div>
      <ol class="status-list">
        {segs.map((s) => <li><span class={`pill ${s.s}`}>{s.s}</span> from {show(iso(s.t))}</li>)}
      </ol>
    </div>
  );
}

function Timeline({ entries, onPick }: { entries: Entry[]; onPick: (ts: string) => void }) {
  if (!entries.length) return <Empty>No lifecycle events.</Empty>;
  return (
    <ol class="timeline">
      {entries.map((e) => (
        <li class={`kind-${e.kind}`}>
          <time>{show(e.timestamp)}</time>
          <span class="pill">{e.kind.replace(/_/g, " ")}</span>{" "}
          {e.counterpart && <><RefLink r={e.counterpart} /> </>}
          {e.changes.length > 0 && <span class="muted">{e.changes.map((c) => `${c.field} → ${JSON.stringify(c.to)}`).join(", ")} </span>}
          <span class="muted">by {who(e.initiator) || "?"}{e.clientIp ? ` from ${e.clientIp}` : ""}{e.country ? ` (${e.country})` : ""}</span>{" "}
          <a href={eventHref(e.id)}>event</a>{" "}
          <button class="link" onClick={() => onPick(e.timestamp)} title="Show access right after this">access then</button>
        </li>
      ))}
    </ol>
  );
}

function EventLine({ label, e }: { label: string; e: EventSummary | null }) {
  if (!e) return null;
  return (
    <dl class="event-detail">
      <dt>{label}</dt><dd><a href={eventHref(e.id)}>{e.eventType}</a> <code>{e.id}</code></dd>
      <dt>When</dt><dd>{show(e.timestamp)}</dd>
      <dt>By</dt><dd>{who(e.initiator) || "unknown"}</dd>
      <dt>From IP</dt><dd>{e.clientIp || "unknown"}{e.country ? ` (${e.country})` : ""}</dd>
    </dl>
  );
}

function EdgePanel({ edge }: { edge: GraphEdge | null }) {
  if (!edge) return <p class="muted">Click an edge (or pick one below) to see the event that granted it.</p>;
  const h: Hop = edge.hop;
  return (
    <div class="edge-panel" role="region" aria-label="Selected edge">
      <h3>{h.source.name || h.source.id} {h.relationship === "MEMBER_OF" ? "member of" : "granted"} {h.target.name || h.target.id}</h3>
      <p>Valid since {show(h.since)}{h.until ? ` until ${show(h.until)}` : ""}.</p>
      {h.grantedBy ? <EventLine label="Granted by" e={h.grantedBy} />
        : <p>Granted by event <code>{h.grantedByEvent}</code> (not stored).</p>}
      <EventLine label="Revoked by" e={h.revokedBy} />
    </div>
  );
}

function AccessAt({ id, asOf, lo, hi, user }: { id: string; asOf: string | null; lo: number; hi: number; user: Ref }) {
  const at = asOf ? Date.parse(asOf) : hi;
  const [pending, setPending] = useState(at);
  const [selected, setSelected] = useState<string | null>(null);
  useEffect(() => setPending(at), [asOf]);
  useEffect(() => {
    if (pending === at) return;
    const t = setTimeout(() => setParams({ asOf: iso(pending) }, true), 250);
    return () => clearTimeout(t);
  }, [pending]);
  const q = useQuery(ACCESS, { id, asOf: iso(at) }, [id, at]);
  const edges = useMemo(() => {
    if (!q.data?.user) return [];
    const paths = [...q.data.user.access.flatMap((a: any) => a.paths), ...q.data.user.groups.flatMap((g: any) => g.paths)];
    return edgesOf(paths);
  }, [q.data]);
  useEffect(() => setSelected(null), [at]);
  const edge = edges.find((e) => e.id === selected) || null;
  const access = q.data?.user?.access || [];
  return (
    <>
      <div class="row slider">
        <label>As of <output>{show(iso(pending))}</output>
          <input type="range" name="asOf" min={lo} max={hi} step={60000} value={pending}
                 onInput={(e) => setPending(Number((e.target as HTMLInputElement).value))}
                 aria-valuetext={show(iso(pending))} />
        </label>
        <button class="link" onClick={() => setParams({ asOf: null }, true)}>latest</button>
      </div>
      <ErrorBox message={q.error} />
      <div class="graph-row">
        <AccessGraph user={user} edges={edges} selected={selected} onSelect={setSelected} />
        <EdgePanel edge={edge} />
      </div>
      {q.data && !edges.length && <Empty>No groups and no access at {show(iso(at))}.</Empty>}
      {edges.length > 0 && (
        <details class="edge-list"><summary>Edges ({edges.length})</summary>
          <ul>{edges.map((e) => (
            <li><button class="link" aria-pressed={selected === e.id} onClick={() => setSelected(e.id)}>
              {e.hop.source.name} → {e.hop.target.name} ({e.hop.relationship})</button></li>))}</ul>
        </details>
      )}
      {access.length > 0 && (
        <table class="access"><thead><tr><th>Resource</th><th>Type</th><th>Paths</th></tr></thead>
          <tbody>{access.map((a: any) => (
            <tr><td><RefLink r={a.resource} asOf={iso(at)} /></td><td>{a.resource.type}</td>
              <td>{a.paths.map((p: any) => `${p.kind} via ${p.hops.slice(0, -1).map((h: Hop) => h.target.name).join(" > ") || "direct grant"}`).join("; ")}</td></tr>))}
          </tbody></table>
      )}
    </>
  );
}

function Diff({ id, from, to }: { id: string; from: string; to: string }) {
  const [f, setF] = useState(from);
  const [t, setT] = useState(to);
  const fm = parseInstant(from), tm = parseInstant(to);
  const bad = (fm !== null && Number.isNaN(fm)) || (tm !== null && Number.isNaN(tm)) ? "Write both instants as ISO 8601, e.g. 2020-06-10T00:00:00Z."
    : fm !== null && tm !== null && fm > tm ? "The first instant must not be after the second." : null;
  const ready = !bad && fm !== null && tm !== null;
  const q = useQuery(ready ? DIFF : null, { id, from: iso(fm!), to: iso(tm!) }, [id, from, to]);
  const d = q.data?.user?.accessDiff;
  const list = (items: any[], word: string) => items.length === 0 ? <Empty>Nothing {word}.</Empty> : (
    <ul>{items.map((c) => <li><RefLink r={c.resource} /> — {c.events.map((e: any) => (
      <span><a href={eventHref(e.id)}>{e.eventType}</a> {show(e.timestamp)} by {who(e.initiator) || "?"}{e.clientIp ? ` from ${e.clientIp}` : ""}; </span>))}</li>)}</ul>);
  return (
    <>
      <form class="row" onSubmit={(e) => { e.preventDefault(); setParams({ diffFrom: f, diffTo: t }, true); }}>
        <label>From<input name="diffFrom" value={f} onInput={(e) => setF((e.target as HTMLInputElement).value)} placeholder="2020-06-01" /></label>
        <label>To<input name="diffTo" value={t} onInput={(e) => setT((e.target as HTMLInputElement).value)} placeholder="2020-07-01" /></label>
        <button type="submit">Compare</button>
      </form>
      <ErrorBox message={bad || q.error} />
      <Loading when={q.loading} />
      {d && <div class="cols2" data-testid="diff"><div><h3>Gained</h3>{list(d.gained, "gained")}</div>
        <div><h3>Lost</h3>{list(d.lost, "lost")}</div></div>}
    </>
  );
}

export function UserView({ id, params }: { id: string; params: URLSearchParams }) {
  const q = useQuery(PROFILE, { id }, [id]);
  const asOfText = params.get("asOf");
  const asOfMs = parseInstant(asOfText);
  if (q.error) return <ErrorBox message={q.error} />;
  if (q.loading && !q.data) return <Loading when />;
  const u = q.data?.user;
  if (!u) return <ErrorBox message={`No user with id ${JSON.stringify(id)} in this organization.`} />;
  const entries: Entry[] = u.lifecycle;
  const times = entries.map((e) => Date.parse(e.timestamp));
  const lo = times.length ? Math.min(...times) - 60000 : Date.now() - 864e5 * 30;
  const last = Math.max(...times, ...u.accessHistory.map((a: any) => Date.parse(a.lastSeen)), lo + 60000);
  const hi = Math.min(Date.now(), last + 864e5);
  const user: Ref = { label: "User", type: "user", id: u.id, name: u.username || u.email || u.id };
  return (
    <>
      <h1>{u.username || u.email || u.id} <span class="muted small">user</span></h1>
      {asOfMs !== null && Number.isNaN(asOfMs) && <ErrorBox message={`asOf: ${JSON.stringify(asOfText)} is not an ISO 8601 instant; showing the latest.`} />}
      <Section title="Profile" id="profile">
        <dl class="profile"><dt>Username</dt><dd>{u.username || "—"}</dd><dt>Email</dt><dd>{u.email || "—"}</dd>
          <dt>Id</dt><dd><code>{u.id}</code></dd>
          <dt>Events</dt><dd><a href={`/activity?user=${enc(u.username || "")}`}>sign-ins</a> · <a href={`/activity?f=${enc(`resource.id=${u.id}`)}`}>changes to this user</a></dd></dl>
        <StatusBand entries={entries} lo={lo} hi={hi} />
      </Section>
      <Section title="Access graph" id="access">
        <AccessAt id={id} asOf={asOfMs !== null && !Number.isNaN(asOfMs) ? iso(asOfMs) : null} lo={lo} hi={hi} user={user} />
      </Section>
      <Section title="Access diff" id="diff"><Diff id={id} from={params.get("diffFrom") || ""} to={params.get("diffTo") || ""} /></Section>
      <Section title="Lifecycle" id="lifecycle">
        <Timeline entries={entries} onPick={(ts) => setParams({ asOf: iso(Date.parse(ts) + 1) }, true)} />
      </Section>
      <Section title="Sign-ins per resource" id="signins">
        {u.accessHistory.length === 0 ? <Empty>No sign-ins recorded.</Empty> : (
          <table><thead><tr><th>Resource</th><th>First</th><th>Last</th><th>Successes</th><th>Failures</th><th>MFA</th><th>Countries</th></tr></thead>
            <tbody>{u.accessHistory.map((a: any) => (
              <tr><td><RefLink r={a.resource} /></td><td>{show(a.firstSeen)}</td><td>{show(a.lastSeen)}</td>
                <td>{a.successes}</td><td>{a.failures}</td><td>{pct(a.mfaShare)}</td><td>{a.countries.join(", ")}</td></tr>))}
            </tbody></table>)}
      </Section>
    </>
  );
}
