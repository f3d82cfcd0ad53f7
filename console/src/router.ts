// Deep links: the path picks the view, the query string holds its filters and `asOf`, so a URL pasted into a
// ticket opens the same page. No hash routing: the server answers every console path with index.html.
import { useEffect, useState } from "preact/hooks";

export type Loc = { path: string; params: URLSearchParams };

function current(): Loc {
  return { path: location.pathname, params: new URLSearchParams(location.search) };
}

const EVENT = "insightgraph:navigate";

export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  window.dispatchEvent(new Event(EVENT));
}

/** Replace some query parameters of the current URL (null removes one), keeping the rest. */
export function setParams(changes: Record<string, string | string[] | null | undefined>, replace = false): void {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    params.delete(k);
    if (Array.isArray(v)) v.forEach((x) => params.append(k, x));
    else if (v !== null && v !== undefined && v !== "") params.set(k, v);
  }
  const qs = params.toString();
  navigate(location.pathname + (qs ? `?${qs}` : ""), replace);
}

export function useLocation(): Loc {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    window.addEventListener("popstate", update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return loc;
}

/** Same-origin links navigate in place (keeping the session); modified clicks open a new tab as usual. */
export function interceptLinks(): void {
  document.addEventListener("click", (e) => {
    const a = (e.target as HTMLElement).closest?.("a");
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (a.target || a.hasAttribute("download") || a.origin !== location.origin || a.dataset.external !== undefined)
      return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
}

window.addEventListener("insightgraph:open", (e) => navigate((e as CustomEvent<string>).detail));
