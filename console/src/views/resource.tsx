// A resource (system or application): who could reach it at an instant and through which paths; who signed in.
import { useState } from "preact/hooks";
import { Empty, ErrorBox, Loading, RefLink, Section, eventHref, useQuery } from "../components";
import { setParams } from "../router";
import { enc, iso, parseInstant, pct, show } from "../util";
import { HOP_FIELDS, type Hop } from "./graph";

const FIELDS = `id name entityType
  whoCanAccess(asOf: $asOf) { user { label type id name } paths { kind since hops { ${HOP_FIELDS} } } }
  whoAccessed { user { label type id name } username firstSeen lastSeen attempts successes failures mfaShare countries }`;
const RESOURCE = `query Resource($id: ID!, $asOf: DateTime) {
  system(id: $id) { ${FIELDS} hostname displayName } application(id: $id) { ${FIELDS} displayLabel } }`;

function pathText(p: { kind: string; hops: Hop[] }): string {
  const via = p.hops.slice(0, -1).map((h) => h.target.name || h.target.id);
  return via.length ? `${p.kind}: ${via.join(" > ")}` : p.kind;
}

export function ResourceView({ id, params }: { id: string; params: URLSearchParams }) {
  const asOfText = params.get("asOf");
  const asOfMs = parseInstant(asOfText);
  const bad = asOfMs !== null && Number.isNaN(asOfMs);
  const [draft, setDraft] = useState(asOfText || "");
  const q = useQuery(bad ? null : RESOURCE, { id, asOf: asOfMs === null ? null : iso(asOfMs) }, [id, asOfText]);
  const r = q.data?.system || q.data?.application;
  return (
    <>
      <h1>{r ? (r.displayName || r.displayLabel || r.name || r.id) : "Resource"} {r && <span class="muted small">{r.entityType}</span>}</h1>
      <form class="row" onSubmit={(e) => { e.preventDefault(); setParams({ asOf: draft }); }}>
        <label>As of (UTC)<input name="asOf" value={draft} placeholder="now" onInput={(e) => setDraft((e.target as HTMLInputElement).value)} /></label>
        <button type="submit">Show</button>
      </form>
      <ErrorBox message={bad ? `asOf: ${JSON.stringify(asOfText)} is not an ISO 8601 instant.` : q.error} />
      <Loading when={q.loading} />
      {q.data && !r && <ErrorBox message={`No system or application with id ${JSON.stringify(id)} in this organization.`} />}
      {r && (
        <>
          <Section title={`Who can access it ${asOfMs !== null && !bad ? `at ${show(iso(asOfMs))}` : "now"}`} id="who-can">
            {r.whoCanAccess.length === 0 ? <Empty>Nobody could reach it then.</Empty> : (
              <table><thead><tr><th>User</th><th>Paths</th><th>Granted</th></tr></thead>
                <tbody>{r.whoCanAccess.map((a: any) => (
                  <tr><td><RefLink r={a.user} asOf={asOfMs !== null && !bad ? iso(asOfMs) : null} /></td>
                    <td>{a.paths.map((p: any) => <div>{pathText(p)}</div>)}</td>
                    <td>{a.paths.map((p: any) => <div class="hops">{p.hops.map((h: Hop) => h.grantedBy
                      ? <a href={eventHref(h.grantedBy.id)} title={h.grantedBy.eventType}>{show(h.grantedBy.timestamp)} by {h.grantedBy.initiator?.email || h.grantedBy.initiator?.username || "?"}</a>
                      : <span>{show(h.since)}</span>)}</div>)}</td></tr>))}
                </tbody></table>)}
          </Section>
          <Section title="Who signed in" id="who-did">
            {r.whoAccessed.length === 0 ? <Empty>No sign-ins recorded.</Empty> : (
              <table><thead><tr><th>User</th><th>First</th><th>Last</th><th>Successes</th><th>Failures</th><th>MFA</th><th>Countries</th></tr></thead>
                <tbody>{r.whoAccessed.map((a: any) => (
                  <tr><td>{a.user ? <RefLink r={a.user} /> : a.username}</td><td>{show(a.firstSeen)}</td><td>{show(a.lastSeen)}</td>
                    <td>{a.successes}</td><td>{a.failures}</td><td>{pct(a.mfaShare)}</td><td>{a.countries.join(", ")}</td></tr>))}
                </tbody></table>)}
            <p><a href={`/activity?f=${enc(`resource.id=${r.id}`)}`}>Events about this resource</a></p>
          </Section>
        </>
      )}
    </>
  );
}
