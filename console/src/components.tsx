// Pieces every view uses: a query hook with loading/error state, error and empty messages, entity links.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { gql } from "./api";
import { enc } from "./util";

export type Ref = { label: string; type: string; id: string; name: string | null };

export type QueryState<T> = { data: T | null; error: string | null; loading: boolean };

/** Run `query` whenever `deps` change; a newer run wins over an older one still in flight. */
export function useQuery<T = any>(query: string | null, variables: Record<string, unknown>, deps: unknown[]):
    QueryState<T> {
  const [state, setState] = useState<QueryState<T>>({ data: null, error: null, loading: !!query });
  useEffect(() => {
    if (!query) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    let live = true;
    setState((s) => ({ data: s.data, error: null, loading: true }));
    gql<T>(query, variables).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (e: Error) => live && setState({ data: null, error: e.message, loading: false }),
    );
    return () => {
      live = false;
    };
  }, deps);
  return state;
}

export function ErrorBox({ message }: { message: string | null | undefined }) {
  if (!message) return null;
  return <div class="error" role="alert">{message}</div>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p class="loading" aria-live="polite">Loading…</p> : null;
}

export function refHref(r: Ref): string | null {
  if (r.label === "User") return `/users/${enc(r.id)}`;
  if (r.label === "System" || r.label === "Application") return `/resources/${enc(r.id)}`;
  return null;
}

export function RefLink({ r, asOf }: { r: Ref | null | undefined; asOf?: string | null }) {
  if (!r) return <span class="muted">—</span>;
  const href = refHref(r);
  const text = r.name || r.id;
  if (!href) return <span title={`${r.type} ${r.id}`}>{text}</span>;
  return <a href={asOf ? `${href}?asOf=${enc(asOf)}` : href} title={`${r.type} ${r.id}`}>{text}</a>;
}

export function eventHref(id: string): string {
  return `/activity?f=${enc(`id=${id}`)}`;
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={id ? `${id}-h` : undefined} data-section={id}>
      <h2 id={id ? `${id}-h` : undefined}>{title}</h2>
      {children}
    </section>
  );
}
