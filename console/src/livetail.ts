// A live tail that survives what ends a stream (Neo4j away, a server restart, the tab falling behind): it
// subscribes again after a backoff, naming the last event it received (`resumeAfter`), so the events stored
// meanwhile arrive first; each event is handed on once, though the server may send one again after a resume.
import type { Client } from "graphql-ws";

/** Backoff before each further attempt, in ms (the last repeats), with up to 20% jitter. */
export const RETRY_MS = [1000, 2000, 5000, 10000, 30000];
/** The service's ends that another attempt mends: the database away, the tab fallen behind. Any other error
 * (a filter refused, the key revoked, too many subscriptions) stays until the user changes something. */
const PASSING = /^live events stopped|fell more than/;
/** Socket closes that mean the key or the request is refused (graphql-transport-ws close codes). */
const REFUSED = new Set([4400, 4401, 4403, 4429]);

export type TailState =
  | { status: "connecting" | "live" }
  | { status: "reconnecting"; why: string; inMs: number }
  | { status: "stopped"; error?: string };

export interface TailHandlers {
  event(ev: any): void;
  state(s: TailState): void;
  /** Said once a stream is back: what ended it and whether the events stored meanwhile came too. */
  resumed(why: string, replayed: boolean): void;
}

function reason(err: unknown): { why: string; refused: boolean } {
  if (Array.isArray(err)) return { why: err.map((e: any) => e?.message ?? String(e)).join("; "), refused: true };
  const close = err as { code?: number; reason?: string };
  if (typeof close?.code === "number") {
    if (close.code === 4403) return { why: "the API key was refused (is it still valid?)", refused: true };
    return { why: `connection closed (${close.code}${close.reason ? `: ${close.reason}` : ""})`, refused: REFUSED.has(close.code) };
  }
  return { why: (err as Error)?.message || "the live connection failed", refused: false };
}

/** Starts the tail; the function returned stops it. */
export function startTail(client: Client, query: string, filter: unknown, on: TailHandlers): () => void {
  let last: string | null = null; // the newest event received: where the next attempt resumes
  const seen = new Set<string>(); // ids handed on, for the replay's overlap (the newest few thousand)
  let attempt = 0; // failed attempts since the last event arrived
  let ended: string | null = null; // why the stream before this attempt ended
  let stopped = false;
  let open = false;
  let unsubscribe = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;

  const offOpen = client.on("connected", () => { open = true; if (!stopped && !timer) on.state({ status: "live" }); });
  const offClosed = client.on("closed", () => { open = false; });

  const retry = (why: string) => {
    const base = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)];
    const inMs = Math.round(base * (1 + Math.random() * 0.2));
    attempt += 1;
    ended = why;
    on.state({ status: "reconnecting", why, inMs });
    timer = setTimeout(() => { timer = undefined; subscribe(); }, inMs);
  };

  const finish = (error?: string) => {
    stopped = true;
    on.state({ status: "stopped", error });
  };

  const subscribe = () => {
    if (stopped) return;
    on.state({ status: open ? "live" : "connecting" });
    let failed: string | null = null; // the error this attempt's stream ended with
    let fresh = true; // nothing received on this attempt yet
    const after = last;
    unsubscribe = client.subscribe({ query, variables: { filter, after } }, {
      next: (msg: any) => {
        if (msg.errors?.length) {
          failed = msg.errors.map((e: any) => e.message).join("; ");
          return;
        }
        const ev = msg.data?.eventAdded;
        if (!ev) return;
        attempt = 0;
        if (fresh && ended !== null) {
          on.resumed(ended, after !== null);
          ended = null;
        }
        fresh = false;
        last = ev.id;
        if (seen.has(ev.id)) return;
        seen.add(ev.id);
        if (seen.size > 5000) seen.delete(seen.values().next().value as string);
        on.event(ev);
      },
      error: (err: unknown) => {
        const { why, refused } = reason(err);
        if (stopped) return;
        if (refused) finish(why);
        else retry(why); // the socket lost (a server restart, a network blip) or not yet back
      },
      complete: () => {
        if (stopped) return;
        if (failed === null) retry("the server ended the stream"); // e.g. shutting down: another takes over
        else if (/^resumeAfter: /.test(failed)) { // the event named is gone (retention): start afresh, saying so
          last = null;
          retry(`${failed}; events stored while the tail was away may be missing`);
        } else if (PASSING.test(failed)) retry(failed);
        else finish(failed);
      },
    });
  };

  subscribe();
  return () => {
    stopped = true;
    clearTimeout(timer);
    unsubscribe();
    offOpen();
    offClosed();
  };
}
