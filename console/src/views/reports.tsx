// Audit reports as of any instant, as a table and as the same CSV `insightgraph report` writes.
import { useState } from "preact/hooks";
import { Empty, ErrorBox, Loading, RefLink, Section, eventHref, useQuery } from "../components";
import { setParams } from "../router";
import { download, iso, parseInstant, show } from "../util";

const KINDS: [string, string, string][] = [
  ["users-groups", "USERS_GROUPS", "Users → groups"], ["users-systems", "USERS_SYSTEMS", "Users → systems"],
  ["users-applications", "USERS_APPLICATIONS", "Users → applications"]];
const REPORT = `query Report($kind: AuditReportKind!, $asOf: DateTime) { auditReport(kind: $kind, asOf: $asOf) {
  asOf csv rows { user { label type id name } target { label type id name } path { kind since hops { target { name } } }
    grantedBy { id timestamp clientIp initiator { email username } } } } }`;

export function ReportsView({ params }: { params: URLSearchParams }) {
  const kind = KINDS.find((k) => k[0] === params.get("kind")) || KINDS[0];
  const asOfText = params.get("asOf");
  const at = parseInstant(asOfText);
  const bad = at !== null && Number.isNaN(at) ? `asOf: ${JSON.stringify(asOfText)} is not an ISO 8601 instant` : null;
  const [draft, setDraft] = useState(asOfText || "");
  const q = useQuery(bad ? null : REPORT, { kind: kind[1], asOf: at === null ? null : iso(at) }, [kind[0], asOfText]);
  const r = q.data?.auditReport;
  return (
    <>
      <h1>Audit reports</h1>
      <form class="row" onSubmit={(e) => { e.preventDefault(); setParams({ asOf: draft }); }}>
        <label>Report<select name="kind" value={kind[0]} onChange={(e) => setParams({ kind: (e.target as HTMLSelectElement).value })}>
          {KINDS.map((k) => <option value={k[0]}>{k[2]}</option>)}</select></label>
        <label>As of (UTC)<input name="asOf" value={draft} placeholder="now" onInput={(e) => setDraft((e.target as HTMLInputElement).value)} /></label>
        <button type="submit">Show</button>
        <button type="button" disabled={!r} onClick={() => r && download(`${kind[0]}-${iso(Date.parse(r.asOf)).replace(/:/g, "")}.csv`, r.csv, "text/csv")}>Download CSV</button>
      </form>
      <p class="muted">CLI: <code>insightgraph report {kind[0]} --org ORG --as-of {r ? iso(Date.parse(r.asOf)) : "WHEN"}</code> writes the same file.</p>
      <ErrorBox message={bad || q.error} />
      <Loading when={q.loading} />
      {r && (
        <Section title={`${kind[2]} at ${show(r.asOf)} (${r.rows.length} rows)`} id="report">
          {r.rows.length === 0 ? <Empty>No rows at that instant.</Empty> : (
            <table><thead><tr><th>User</th><th>Target</th><th>Path</th><th>Since</th><th>Granted by</th></tr></thead>
              <tbody>{r.rows.map((row: any) => (
                <tr><td><RefLink r={row.user} asOf={r.asOf} /></td><td><RefLink r={row.target} asOf={r.asOf} /> <span class="muted">{row.target.type}</span></td>
                  <td>{row.path.kind}{row.path.hops.length > 1 ? ` via ${row.path.hops.slice(0, -1).map((h: any) => h.target.name).join(" > ")}` : ""}</td>
                  <td>{show(row.path.since)}</td>
                  <td>{row.grantedBy ? <a href={eventHref(row.grantedBy.id)}>{row.grantedBy.initiator?.email || row.grantedBy.initiator?.username || "?"}{row.grantedBy.clientIp ? ` from ${row.grantedBy.clientIp}` : ""}</a> : ""}</td></tr>))}
              </tbody></table>)}
        </Section>
      )}
    </>
  );
}
