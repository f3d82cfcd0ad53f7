// The activity log: service, time range, field filters and free text in the URL; a histogram to zoom the time
// range (click a bar or drag across bars); a table with chosen columns and keyset paging; rows expand to the
// event's JSON; export of all matching events as CSV or JSON lines.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { gql } from "../api";
import { Empty, ErrorBox, Loading, Section, useQuery } from "../components";
import { setParams } from "../router";
import { download, enc, iso, parseInstant, show, toCsv } from "../util";

type Ev = {
  id: string; timestamp: string; eventType: string; service: string; success: boolean | null; mfa: boolean | null;
  clientIp: string | null; geo: { countryCode: string | null } | null; raw: any;
  initiatedBy: { id: string; name: string | null; entityType: string } | null;
  target: { id: string; name: string | null; entityType: string } | null;
};

const SERVICES = ["all", "directory", "sso", "radius", "ldap", "systems", "mdm", "password_manager", "software",
  "object_storage", "alerts", "user_portal", "admin_portal"];

type Col = { key: string; title: string; value: (e: Ev) => string };
const COLUMNS: Col[] = [
  { key: "timestamp", title: "Time (UTC)", value: (e) => show(e.timestamp) },
  { key: "service", title: "Service", value: (e) => e.service },
  { key: "eventType", title: "Event type", value: (e) => e.eventType },
  { key: "initiatedBy", title: "Initiated by", value: (e) => e.initiatedBy?.name || e.raw?.initiated_by?.username || "" },
  { key: "target", title: "Target", value: (e) => e.target?.name || "" },
  { key: "clientIp", title: "Client IP", value: (e) => e.clientIp || "" },
  { key: "country", title: "Country", value: (e) => e.geo?.countryCode || "" },
  { key: "success", title: "Success", value: (e) => (e.success === null ? "" : e.success ? "yes" : "no") },
  { key: "mfa", title: "MFA", value: (e) => (e.mfa === null ? "" : e.mfa ? "yes" : "no") },
  { key: "id", title: "Event id", value: (e) => e.id },
];
const DEFAULT_COLS = ["timestamp", "service", "eventType", "initiatedBy", "target", "clientIp", "success"];

const EVENT_FIELDS = `id timestamp eventType service success mfa clientIp geo { countryCode } raw
  initiatedBy { id name entityType } target { id name entityType }`;
const PAGE = `query Page($filter: EventFilter, $first: Int!, $after: String) {
  events(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    nodes { ${EVENT_FIELDS} } } }`;
const EXPORT = `query Export($filter: EventFilter, $after: String) {
  events(filter: $filter, first: 500, after: $after) { pageInfo { hasNextPage endCursor }
    nodes { ${EVENT_FIELDS} } } }`;
const BOUNDS = `query Bounds($filter: EventFilter) {
  oldest: events(filter: $filter, first: 1, order: ASC) { nodes { timestamp } }
  newest: events(filter: $filter, first: 1) { nodes { timestamp } } }`;
const HISTOGRAM = `query Histogram($interval: String!, $filter: EventFilter) {
  eventHistogram(interval: $interval, filter: $filter) { start count } }`;

const UNITS: [string, number][] = [["1m", 6e4], ["5m", 3e5], ["15m", 9e5], ["1h", 36e5], ["3h", 108e5],
  ["6h", 216e5], ["12h", 432e5], ["1d", 864e5], ["7d", 6048e5], ["30d", 2592e6]];
const MAX_EXPORT = 50_000;

/** The GraphQL filter a URL describes; errors name the parameter that does not parse. */
export function filterFromParams(p: URLSearchParams): { filter: any; error: string | null } {
  const f: any = {};
  const errors: string[] = [];
  const services = (p.get("service") || "").split(",").map((s) => s.trim()).filter((s) => s && s !== "all");
  if (services.length) f.services = services;
  for (const [name, key] of [["from", "from"], ["to", "to"]] as const) {
    const ms = parseInstant(p.get(name));
    if (ms !== null && Number.isNaN(ms)) errors.push(`${name}: ${JSON.stringify(p.get(name))} is not an ISO 8601 instant`);
    else if (ms !== null) f[key] = iso(ms);
  }
  const types = (p.get("type") || "").split(",").map((s) => s.trim()).filter(Boolean);
  if (types.length) f.eventTypes = types;
  if (p.get("user")) f.username = p.get("user");
  const ips = (p.get("ip") || "").split(",").map((s) => s.trim()).filter(Boolean);
  if (ips.length) f.clientIp = ips;
  const countries = (p.get("country") || "").split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
  if (countries.length) f.country = countries;
  if (p.get("success") === "true" || p.get("success") === "false") f.success = p.get("success") === "true";
  if (p.get("q")) f.text = p.get("q");
  const fields = p.getAll("f").map((cond) => {
    const m = cond.match(/^([^=~]+)(=|~)(.*)$/);
    if (!m) {
      errors.push(`field filter ${JSON.stringify(cond)}: write path=value or path~text`);
      return null;
    }
    return m[2] === "=" ? { path: m[1].trim(), values: m[3].split("|") } : { path: m[1].trim(), contains: m[3] };
  }).filter(Boolean);
  if (fields.length) f.fields = fields;
  return { filter: f, error: errors.length ? errors.join("; ") : null };
}

function pickInterval(span: number): string {
  for (const [name, ms] of UNITS) if (span / ms <= 80) return name;
  return "30d";
}

function Histogram({ filter, params, version }: { filter: any; params: URLSearchParams; version: string }) {
  const [buckets, setBuckets] = useState<{ start: number; count: number }[] | null>(null);
  const [width, setWidth] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const svg = useRef<SVGSVGElement>(null);
  useEffect(() => {
    let live = true;
    setError(null);
    (async () => {
      let lo = filter.from ? Date.parse(filter.from) : null;
      let hi = filter.to ? Date.parse(filter.to) : null;
      if (lo === null || hi === null) {
        const b = await gql(BOUNDS, { filter });
        if (!b.oldest.nodes.length) return live && setBuckets([]);
        lo = lo ?? Date.parse(b.oldest.nodes[0].timestamp);
        hi = hi ?? Date.parse(b.newest.nodes[0].timestamp) + 1;
      }
      const interval = pickInterval(Math.max(hi - lo, 1));
      const ms = UNITS.find(([n]) => n === interval)![1];
      const d = await gql(HISTOGRAM, { interval, filter });
      if (!live) return;
      setWidth(ms);
      setBuckets(d.eventHistogram.map((x: any) => ({ start: Date.parse(x.start), count: x.count })));
    })().catch((e) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [version]);
  if (error) return <ErrorBox message={error} />;
  if (!buckets) return <Loading when />;
  if (!buckets.length) return null;
  const lo = buckets[0].start;
  const hi = buckets[buckets.length - 1].start + width;
  const max = Math.max(...buckets.map((b) => b.count), 1);
  const W = 1000, H = 110;
  const x = (t: number) => ((t - lo) / (hi - lo)) * W;
  const tAt = (clientX: number) => {
    const r = svg.current!.getBoundingClientRect();
    return lo + ((clientX - r.left) / r.width) * (hi - lo);
  };
  const zoom = (a: number, b: number) =>
    setParams({ from: iso(Math.floor(Math.min(a, b))), to: iso(Math.ceil(Math.max(a, b))) });
  const bw = Math.max((width / (hi - lo)) * W - 1, 1);
  return (
    <div class="histogram">
      <svg ref={svg} viewBox={`0 0 ${W} ${H + 16}`} preserveAspectRatio="none" role="group"
           aria-label="Events over time: click a bar or drag across bars to zoom"
           onMouseDown={(e) => setDrag({ a: tAt(e.clientX), b: tAt(e.clientX) })}
           onMouseMove={(e) => drag && setDrag({ ...drag, b: tAt(e.clientX) })}
           onMouseUp={(e) => {
             if (!drag) return;
             const b = tAt(e.clientX);
             setDrag(null);
             if (Math.abs(x(b) - x(drag.a)) > 6) zoom(drag.a, b);
           }}
           onMouseLeave={() => setDrag(null)}>
        {buckets.map((b) => (
          <rect class="bar" x={x(b.start)} y={H - (b.count / max) * H} width={bw} height={(b.count / max) * H}
                tabIndex={0} data-start={iso(b.start)} data-count={b.count}
                onClick={() => zoom(b.start, b.start + width)}
                onKeyDown={(e) => e.key === "Enter" && zoom(b.start, b.start + width)}>
            <title>{`${show(iso(b.start))}: ${b.count} events`}</title>
          </rect>
        ))}
        {drag && <rect class="selection" x={Math.min(x(drag.a), x(drag.b))} y={0}
                       width={Math.abs(x(drag.b) - x(drag.a))} height={H} />}
        <text x={2} y={H + 13} class="axis">{show(iso(lo))}</text>
        <text x={W - 2} y={H + 13} class="axis" text-anchor="end">{show(iso(hi))}</text>
      </svg>
      <div class="row small">
        <span class="muted">{buckets.reduce((s, b) => s + b.count, 0)} events in buckets of {UNITS.find(([, m]) => m === width)?.[0]}</span>
        {(params.get("from") || params.get("to")) &&
          <button class="link" onClick={() => setParams({ from: null, to: null })}>Clear time range</button>}
      </div>
    </div>
  );
}

function FilterForm({ params }: { params: URLSearchParams }) {
  const [v, setV] = useState(() => ({
    service: params.get("service") || "all", from: params.get("from") || "", to: params.get("to") || "",
    type: params.get("type") || "", user: params.get("user") || "", ip: params.get("ip") || "",
    country: params.get("country") || "", success: params.get("success") || "", q: params.get("q") || "",
    f: params.getAll("f").join("\n"),
  }));
  const set = (k: string) => (e: Event) => setV({ ...v, [k]: (e.target as HTMLInputElement).value });
  function apply(e: Event) {
    e.preventDefault();
    setParams({ service: v.service === "all" ? null : v.service, from: v.from, to: v.to, type: v.type,
      user: v.user, ip: v.ip, country: v.country, success: v.success, q: v.q,
      f: v.f.split("\n").map((s) => s.trim()).filter(Boolean) });
  }
  return (
    <form class="filters" onSubmit={apply} aria-label="Filters">
      <label>Service<select value={v.service} onChange={set("service")} name="service">
        {SERVICES.map((s) => <option value={s}>{s}</option>)}</select></label>
      <label>From (UTC)<input name="from" placeholder="2020-06-01T00:00:00Z" value={v.from} onInput={set("from")} /></label>
      <label>To (UTC)<input name="to" placeholder="2020-07-01" value={v.to} onInput={set("to")} /></label>
      <label>Event types<input name="type" placeholder="user_create,sso_auth" value={v.type} onInput={set("type")} /></label>
      <label>Username<input name="user" value={v.user} onInput={set("user")} /></label>
      <label>Client IP / CIDR<input name="ip" value={v.ip} onInput={set("ip")} /></label>
      <label>Country<input name="country" placeholder="US,DE" value={v.country} onInput={set("country")} /></label>
      <label>Success<select name="success" value={v.success} onChange={set("success")}>
        <option value="">any</option><option value="true">yes</option><option value="false">no</option></select></label>
      <label class="wide">Free text<input name="q" value={v.q} onInput={set("q")} placeholder="any field contains…" /></label>
      <label class="wide">Field filters, one per line: <code>path=value</code> (values split by |) or <code>path~text</code>
        <textarea name="f" rows={2} value={v.f} onInput={set("f")} placeholder="initiated_by.email=admin@example.org" /></label>
      <div class="actions"><button type="submit">Apply</button>
        <button type="button" class="link" onClick={() => setParams({ service: null, from: null, to: null, type: null,
          user: null, ip: null, country: null, success: null, q: null, f: null })}>Reset</button></div>
    </form>
  );
}

function Columns({ cols }: { cols: string[] }) {
  return (
    <details class="columns"><summary>Columns</summary>
      {COLUMNS.map((c) => (
        <label class="check"><input type="checkbox" checked={cols.includes(c.key)} name={`col-${c.key}`}
          onChange={(e) => {
            const on = (e.target as HTMLInputElement).checked;
            const next = COLUMNS.map((x) => x.key).filter((k) => (k === c.key ? on : cols.includes(k)));
            setParams({ cols: next.join(",") }, true);
          }} />{c.title}</label>
      ))}
    </details>
  );
}

export function ActivityView({ params }: { params: URLSearchParams }) {
  const { filter, error } = filterFromParams(params);
  const filterKey = JSON.stringify(filter);
  const cols = (params.get("cols") || DEFAULT_COLS.join(",")).split(",").filter((k) => COLUMNS.some((c) => c.key === k));
  const shown = COLUMNS.filter((c) => cols.includes(c.key));
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<string | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  useEffect(() => setCursors([null]), [filterKey]);
  const after = cursors[cursors.length - 1];
  const page = useQuery(error ? null : PAGE, { filter, first: 50, after }, [filterKey, after]);
  const conn = page.data?.events;

  async function exportAll(kind: "csv" | "jsonl") {
    setExporting("Exporting…");
    try {
      const out: Ev[] = [];
      let cursor: string | null = null;
      for (;;) {
        const d: any = await gql(EXPORT, { filter, after: cursor });
        out.push(...d.events.nodes);
        setExporting(`Exporting… ${out.length} events`);
        if (!d.events.pageInfo.hasNextPage || out.length >= MAX_EXPORT) break;
        cursor = d.events.pageInfo.endCursor;
      }
      const name = `insightgraph-events-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}`;
      if (kind === "csv") download(`${name}.csv`, toCsv(shown.map((c) => c.key), out.map((e) => shown.map((c) => c.value(e)))), "text/csv");
      else download(`${name}.jsonl`, out.map((e) => JSON.stringify(e.raw)).join("\n") + "\n", "application/x-ndjson");
      setExporting(out.length >= MAX_EXPORT ? `Exported the first ${MAX_EXPORT} events; narrow the filter for the rest.` : null);
    } catch (e) {
      setExporting(`Export failed: ${(e as Error).message}`);
    }
  }

  const version = useMemo(() => filterKey, [filterKey]);
  return (
    <>
      <h1>Activity</h1>
      <Section title="Filters" id="filters"><FilterForm key={params.toString()} params={params} /></Section>
      <ErrorBox message={error} />
      {!error && <Section title="Over time" id="histogram"><Histogram filter={filter} params={params} version={version} /></Section>}
      {!error && (
        <Section title="Events" id="events">
          <div class="row">
            <span class="count">{conn ? `${conn.totalCount} matching events` : ""}</span>
            <Columns cols={cols} />
            <button onClick={() => exportAll("csv")} disabled={!conn?.totalCount}>Export CSV</button>
            <button onClick={() => exportAll("jsonl")} disabled={!conn?.totalCount}>Export JSON lines</button>
            {exporting && <span class="muted" role="status">{exporting}</span>}
          </div>
          <ErrorBox message={page.error} />
          <Loading when={page.loading} />
          {conn && !conn.nodes.length && <Empty>No events match these filters.</Empty>}
          {conn && conn.nodes.length > 0 && (
            <table class="events">
              <thead><tr>{shown.map((c) => <th scope="col">{c.title}</th>)}</tr></thead>
              <tbody>
                {conn.nodes.map((e: Ev) => [
                  <tr class="event" tabIndex={0} aria-expanded={open === e.id} data-id={e.id}
                      onClick={() => setOpen(open === e.id ? null : e.id)}
                      onKeyDown={(k) => (k.key === "Enter" || k.key === " ") && (k.preventDefault(), setOpen(open === e.id ? null : e.id))}>
                    {shown.map((c) => <td>{c.key === "initiatedBy" && e.initiatedBy?.entityType === "user"
                      ? <a href={`/users/${enc(e.initiatedBy.id)}`}>{c.value(e)}</a>
                      : c.key === "target" && e.target?.entityType === "user"
                        ? <a href={`/users/${enc(e.target.id)}`}>{c.value(e)}</a> : c.value(e)}</td>)}
                  </tr>,
                  open === e.id && <tr class="json"><td colSpan={shown.length}><pre>{JSON.stringify(e.raw, null, 2)}</pre></td></tr>,
                ])}
              </tbody>
            </table>
          )}
          <div class="row">
            <button disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>← Newer</button>
            <span class="muted">page {cursors.length}</span>
            <button disabled={!conn?.pageInfo.hasNextPage}
                    onClick={() => setCursors([...cursors, conn.pageInfo.endCursor])}>Older →</button>
          </div>
        </Section>
      )}
    </>
  );
}
