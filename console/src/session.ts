// The API key lives in this tab's sessionStorage only: never in a URL, never in localStorage or a cookie.
const KEY = "insightgraph.key";
const ORG = "insightgraph.org";

export type Session = { key: string | null; org: string | null };

export function loadSession(): Session {
  try {
    return { key: sessionStorage.getItem(KEY), org: sessionStorage.getItem(ORG) };
  } catch {
    return { key: null, org: null };
  }
}

export function saveSession(key: string, org: string | null): void {
  sessionStorage.setItem(KEY, key);
  if (org) sessionStorage.setItem(ORG, org);
  else sessionStorage.removeItem(ORG);
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(ORG);
}
