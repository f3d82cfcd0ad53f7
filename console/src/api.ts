// The console's only way to data: our own GraphQL API, over POST /graphql and the graphql-ws subscription.
import { createClient, type Client } from "graphql-ws";
import { loadSession } from "./session";

/** A failure to show on the page: `auth` means the key is missing, unknown, revoked or not for that org. */
export class ApiError extends Error {
  constructor(message: string, readonly auth = false) {
    super(message);
  }
}

function headers(): Record<string, string> {
  const s = loadSession();
  const h: Record<string, string> = { "content-type": "application/json" };
  if (s.key) h["x-api-key"] = s.key;
  if (s.org) h["x-org-id"] = s.org;
  return h;
}

let onAuthFailure: (message: string) => void = () => {};
export function setAuthFailureHandler(fn: (message: string) => void): void {
  onAuthFailure = fn;
}

export async function gql<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch("/graphql", { method: "POST", headers: headers(), body: JSON.stringify({ query, variables }) });
  } catch (e) {
    throw new ApiError(`the server did not answer (${(e as Error).message})`);
  }
  let body: any = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON: handled below */
  }
  if (res.status === 401 || res.status === 403) {
    const msg = body?.message || `the server refused the key (HTTP ${res.status})`;
    onAuthFailure(msg);
    throw new ApiError(msg, true);
  }
  if (!res.ok && !body?.errors) throw new ApiError(body?.message || `the server answered HTTP ${res.status}`);
  if (body?.errors?.length) throw new ApiError(body.errors.map((e: any) => e.message).join("; "));
  return body.data as T;
}

let ws: Client | null = null;
let wsFor = "";

/** One graphql-ws client per key and organization; the key travels in connection_init, not the URL. */
export function subscriptions(): Client {
  const s = loadSession();
  const id = `${s.key}|${s.org}`;
  if (ws && wsFor === id) return ws;
  ws?.dispose();
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  const params: Record<string, string> = {};
  if (s.key) params["x-api-key"] = s.key;
  if (s.org) params["x-org-id"] = s.org;
  // No retries of its own: they would subscribe again with the first variables, not after the last event
  // received; the live tail (livetail.ts) reconnects and resumes itself.
  ws = createClient({ url, connectionParams: params, lazy: true, retryAttempts: 0 });
  wsFor = id;
  return ws;
}
