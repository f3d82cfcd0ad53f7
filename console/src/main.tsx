// The investigator console: sign-in, organization switcher, and the views, routed by path.
import { Component, render, type ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { gql, setAuthFailureHandler } from "./api";
import { ErrorBox } from "./components";
import { interceptLinks, navigate, useLocation } from "./router";
import { clearSession, loadSession, saveSession } from "./session";
import "./style.css";
import { ActivityView } from "./views/activity";
import { InvestigationsView } from "./views/investigations";
import { ReportsView } from "./views/reports";
import { ResourceView } from "./views/resource";
import { UserView } from "./views/user";
import { HomeView } from "./views/home";

type Viewer = { organization: string; organizations: string[]; scope: string; name: string | null };

const VIEWER = "{ viewer { organization organizations scope name } }";

class Boundary extends Component<{ children: ComponentChildren }, { error: string | null }> {
  state = { error: null as string | null };
  componentDidCatch(error: Error) {
    this.setState({ error: error.message || String(error) });
  }
  render() {
    if (this.state.error)
      return <ErrorBox message={`This view failed: ${this.state.error}. Go back or reload the page.`} />;
    return this.props.children;
  }
}

function SignIn({ message, onSignedIn }: { message: string | null; onSignedIn: (v: Viewer) => void }) {
  const [key, setKey] = useState("");
  const [org, setOrg] = useState("");
  const [error, setError] = useState<string | null>(message);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    if (!key.trim()) return setError("Enter an API key (insightgraph keys create --org ORG).");
    setBusy(true);
    saveSession(key.trim(), org.trim() || null);
    try {
      const data = await gql<{ viewer: Viewer }>(VIEWER);
      saveSession(key.trim(), data.viewer.organization);
      onSignedIn(data.viewer);
    } catch (err) {
      clearSession();
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="signin">
      <h1>insightgraph</h1>
      <p>Sign in with an API key. It is kept for this browser tab only and never put in a URL.</p>
      <form onSubmit={submit} aria-label="Sign in">
        <label>API key
          <input type="password" name="key" autoComplete="off" value={key} autoFocus
                 onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        </label>
        <label>Organization id <span class="muted">(only for a key that holds several)</span>
          <input name="org" value={org} onInput={(e) => setOrg((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
      <ErrorBox message={error} />
    </main>
  );
}

function OrgSwitcher({ viewer, onSwitch }: { viewer: Viewer; onSwitch: (org: string) => void }) {
  if (viewer.organizations.length < 2)
    return <span class="org" title="organization">{viewer.organization}</span>;
  return (
    <label class="org">Organization{" "}
      <select value={viewer.organization} onChange={(e) => onSwitch((e.target as HTMLSelectElement).value)}>
        {viewer.organizations.map((o) => <option value={o}>{o}</option>)}
      </select>
    </label>
  );
}

const TITLES: Record<string, string> = { "/activity": "Activity", "/investigations": "Investigations",
  "/reports": "Audit reports", "/users": "User", "/resources": "Resource" };

function route(path: string, params: URLSearchParams) {
  const m = path.match(/^\/(users|resources)\/([^/]+)\/?$/);
  document.title = `${TITLES[m ? `/${m[1]}` : path] || "Investigate"} · insightgraph`;
  if (m && m[1] === "users") return <UserView id={decodeURIComponent(m[2])} params={params} />;
  if (m && m[1] === "resources") return <ResourceView id={decodeURIComponent(m[2])} params={params} />;
  if (path === "/activity") return <ActivityView params={params} />;
  if (path === "/investigations") return <InvestigationsView params={params} />;
  if (path === "/reports") return <ReportsView params={params} />;
  if (path === "/" || path === "") return <HomeView params={params} />;
  return <ErrorBox message={`There is no page at ${path}.`} />;
}

function App() {
  const loc = useLocation();
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [checking, setChecking] = useState(!!loadSession().key);
  const [authMessage, setAuthMessage] = useState<string | null>(null);
  const [epoch, setEpoch] = useState(0);

  useEffect(() => {
    setAuthFailureHandler((msg) => {
      clearSession();
      setViewer(null);
      setAuthMessage(`Signed out: ${msg}`);
    });
    if (loadSession().key)
      gql<{ viewer: Viewer }>(VIEWER).then((d) => setViewer(d.viewer), () => {}).finally(() => setChecking(false));
  }, []);

  if (checking) return <p class="loading">Loading…</p>;
  if (!viewer) return <SignIn message={authMessage} onSignedIn={(v) => { setAuthMessage(null); setViewer(v); }} />;

  const here = loc.path;
  const nav = [["/activity", "Activity"], ["/investigations", "Investigations"], ["/reports", "Reports"]];
  return (
    <div class="shell">
      <header>
        <a class="brand" href="/">insightgraph</a>
        <nav aria-label="Views">
          {nav.map(([href, text]) => (
            <a href={href} aria-current={here === href ? "page" : undefined}>{text}</a>
          ))}
          <a href="/graphql" data-external>GraphiQL</a>
          <a href="/docs" data-external>API docs</a>
        </nav>
        <OrgSwitcher viewer={viewer} onSwitch={(org) => {
          saveSession(loadSession().key!, org);
          setViewer({ ...viewer, organization: org });
          setEpoch(epoch + 1);
        }} />
        <button class="link" onClick={() => { clearSession(); setViewer(null); navigate("/"); }}>Sign out</button>
      </header>
      <main key={`${viewer.organization}-${epoch}`}>
        <Boundary key={here}>{route(here, loc.params)}</Boundary>
      </main>
    </div>
  );
}

interceptLinks();
render(<App />, document.getElementById("app")!);
