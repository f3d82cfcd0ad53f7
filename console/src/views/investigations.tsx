// Investigations: failed-login bursts, access after revocation, new-country sign-ins (each row linking to the
// user and the events behind it), and a live tail of matching events over the eventAdded subscription, which
// reconnects by itself and resumes after the last event it showed (livetail.ts).
import { useEffect, useState } from "preact/hooks";
import { subscriptions } from "../api";
import { startTail, type TailState } from "../livetail";
import { Empty, ErrorBox, Loading, RefLink, Section, eventHref, useQuery } from "../components";
import { setParams } from "../router";
import { enc, iso, parseInstant, show } from "../util";
import { filterFromParams } from "./activity";

const FINDINGS = `query Findings($from: DateTime, $to: DateTime, $window: String!, $threshold: Int!) {
  failedLoginBursts(window: $window, threshold: $threshold, from: $from, to: $to) {
    user { label type id name } username start end count clientIps countries services eventIds }
  accessAfterRevocation(from: $from, to: $to) {
    event { id timestamp eventType clientIp country } user { label type id name } resource { label type id name }
    reasons { kind at event { id timestamp } } }
  newCountryLogins(from: $from, to: $to) {
    event { id timestamp eventType clientIp } user { label type id name } username country previousCountries } }`;
const TAIL = `subscription Tail($filter: EventFilter, $after: ID) { eventAdded(filter: $filter, resumeAfter: $after) {
  id timestamp eventType service success clientIp initiatedBy { id name entityType } } }`;

const SHOWN = 200;
const FLUSH_MS = 150;

function Tail({ params }: { params: URLSearchParams }) {
  const [on, setOn] = useState(false);
  const [events, setEvents] = useState<any[]>([]);
  const [state, setState] = useState<TailState>({ status: "stopped" });
  const [note, setNote] = useState<string | null>(null);
  const [received, setReceived] = useState(0);
  const { filter, error: bad } = filterFromParams(params);
  useEffect(() => {
    if (!on || bad) return;
    setNote(null);
    // Events are drawn at most every FLUSH_MS: a backfill, or a resume's replay, can bring thousands a second.
    let batch: any[] = [];
    let flush: ReturnType<typeof setTimeout> | undefined;
    const draw = () => {
      flush = undefined;
      const newest = batch.reverse();
      batch = [];
      setReceived((n) => n + newest.length);
      setEvents((prev) => [...newest, ...prev].slice(0, SHOWN));
    };
    const stop = startTail(subscriptions(), TAIL, filter, {
      event: (ev) => { batch.push(ev); flush ??= setTimeout(draw, FLUSH_MS); },
      state: (s) => { setState(s); if (s.status === "stopped") setOn(false); },
      resumed: (why, replayed) => setNote(`Reconnected at ${new Date().toLocaleTimeString()} after: ${why}. ` + (replayed
        ? "The events stored meanwhile were replayed."
        : "None had arrived before, so the events stored meanwhile were not replayed.")),
    });
    return () => {
      stop();
      if (flush !== undefined) { clearTimeout(flush); draw(); }
      setState((s) => (s.status === "stopped" ? s : { status: "stopped" }));
    };
  }, [on, params.toString()]);
  const error = state.status === "stopped" ? state.error : undefined;
  return (
    <>
      <div class="row">
        <button onClick={() => setOn(!on)} aria-pressed={on}>{on ? "Stop live tail" : "Start live tail"}</button>
        <span class="muted" role="status" data-status={state.status}>{state.status === "reconnecting"
          ? `reconnecting in ${Math.ceil(state.inMs / 1000)} s (${state.why})` : state.status}</span>
        <span class="muted">Uses the Activity filters in this page's URL (e.g. <code>?service=sso&amp;success=false</code>).</span>
      </div>
      <ErrorBox message={bad || error} />
      {note && <p class="muted" data-note="resumed">{note}</p>}
      {on && events.length === 0 && <Empty>Waiting for events…</Empty>}
      {received > SHOWN && <p class="muted">The newest {SHOWN} of {received.toLocaleString()} received.</p>}
      {events.length > 0 && (
        <table class="tail"><thead><tr><th>Time</th><th>Service</th><th>Type</th><th>By</th><th>IP</th><th>OK</th></tr></thead>
          <tbody>{events.map((e) => (
            <tr data-id={e.id}><td><a href={eventHref(e.id)}>{show(e.timestamp)}</a></td><td>{e.service}</td><td>{e.eventType}</td>
              <td>{e.initiatedBy?.entityType === "user" ? <a href={`/users/${enc(e.initiatedBy.id)}`}>{e.initiatedBy.name}</a> : e.initiatedBy?.name}</td>
              <td>{e.clientIp}</td><td>{e.success === null ? "" : e.success ? "yes" : "no"}</td></tr>))}</tbody></table>)}
    </>
  );
}

function idsHref(ids: string[]): string {
  return `/activity?f=${enc(`id=${ids.join("|")}`)}`;
}

export function InvestigationsView({ params }: { params: URLSearchParams }) {
  const from = parseInstant(params.get("from")), to = parseInstant(params.get("to"));
  const win = params.get("window") || "10m";
  const threshold = Number(params.get("threshold") || "5");
  const bad = (from !== null && Number.isNaN(from)) || (to !== null && Number.isNaN(to))
    ? "from/to: write instants as ISO 8601, e.g. 2020-06-10T00:00:00Z" : null;
  const [draft, setDraft] = useState({ from: params.get("from") || "", to: params.get("to") || "", window: win, threshold: String(threshold) });
  const q = useQuery(bad ? null : FINDINGS, { from: from === null ? null : iso(from), to: to === null ? null : iso(to), window: win, threshold },
    [params.get("from"), params.get("to"), win, threshold]);
  const set = (k: string) => (e: Event) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value });
  const d = q.data;
  return (
    <>
      <h1>Investigations</h1>
      <form class="row" onSubmit={(e) => { e.preventDefault(); setParams({ ...draft }); }}>
        <label>From<input name="from" value={draft.from} onInput={set("from")} placeholder="any" /></label>
        <label>To<input name="to" value={draft.to} onInput={set("to")} placeholder="now" /></label>
        <label>Burst window<input name="window" value={draft.window} onInput={set("window")} size={5} /></label>
        <label>Failures at least<input name="threshold" type="number" min={2} value={draft.threshold} onInput={set("threshold")} /></label>
        <button type="submit">Search</button>
      </form>
      <ErrorBox message={bad || q.error} />
      <Loading when={q.loading} />
      {d && (
        <>
          <Section title={`Failed-login bursts (${d.failedLoginBursts.length})`} id="bursts">
            {d.failedLoginBursts.length === 0 ? <Empty>No bursts of {threshold} failures within {win}.</Empty> : (
              <table><thead><tr><th>User</th><th>Start</th><th>End</th><th>Failures</th><th>IPs</th><th>Countries</th><th>Services</th><th>Events</th></tr></thead>
                <tbody>{d.failedLoginBursts.map((b: any) => (
                  <tr><td>{b.user ? <RefLink r={b.user} /> : b.username}</td><td>{show(b.start)}</td><td>{show(b.end)}</td><td>{b.count}</td>
                    <td>{b.clientIps.join(", ")}</td><td>{b.countries.join(", ")}</td><td>{b.services.join(", ")}</td>
                    <td><a href={idsHref(b.eventIds)}>{b.eventIds.length} events</a></td></tr>))}</tbody></table>)}
          </Section>
          <Section title={`Access after revocation (${d.accessAfterRevocation.length})`} id="after-revocation">
            {d.accessAfterRevocation.length === 0 ? <Empty>No sign-ins after access ended.</Empty> : (
              <table><thead><tr><th>When</th><th>User</th><th>Resource</th><th>Why suspicious</th><th>Event</th></tr></thead>
                <tbody>{d.accessAfterRevocation.map((a: any) => (
                  <tr><td>{show(a.event.timestamp)}</td><td><RefLink r={a.user} asOf={a.event.timestamp} /></td><td><RefLink r={a.resource} asOf={a.event.timestamp} /></td>
                    <td>{a.reasons.map((r: any) => <div>{r.kind.replace(/_/g, " ")} at {show(r.at)}{r.event && <> (<a href={eventHref(r.event.id)}>event</a>)</>}</div>)}</td>
                    <td><a href={eventHref(a.event.id)}>{a.event.eventType}</a> {a.event.clientIp}</td></tr>))}</tbody></table>)}
          </Section>
          <Section title={`New-country sign-ins (${d.newCountryLogins.length})`} id="new-country">
            {d.newCountryLogins.length === 0 ? <Empty>No sign-ins from a new country.</Empty> : (
              <table><thead><tr><th>When</th><th>User</th><th>Country</th><th>Before</th><th>Event</th></tr></thead>
                <tbody>{d.newCountryLogins.map((n: any) => (
                  <tr><td>{show(n.event.timestamp)}</td><td>{n.user ? <RefLink r={n.user} /> : n.username}</td><td>{n.country}</td>
                    <td>{n.previousCountries.join(", ")}</td><td><a href={eventHref(n.event.id)}>{n.event.eventType}</a> {n.event.clientIp}</td></tr>))}</tbody></table>)}
          </Section>
        </>
      )}
      <Section title="Live tail" id="tail"><Tail params={params} /></Section>
    </>
  );
}
