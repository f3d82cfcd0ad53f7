// GraphiQL with the explorer plugin, from the UMD files its maintainers publish (copied by vite.config.ts into
// assets/vendor, loaded by graphiql.html before this module), so nothing comes from a CDN. A key the console
// signed in with (this tab's sessionStorage, same origin) is put in the headers so the schema loads at once.
import "@graphiql/plugin-explorer/dist/style.css";
import "graphiql/graphiql.css";
import { createClient } from "graphql-ws";
import "./graphiql.css";
import { loadSession } from "./session";

type Tab = { query: string; variables?: string };
declare const React: any;
declare const ReactDOM: any;
declare const GraphiQL: any;
declare const GraphiQLPluginExplorer: any;

const session = loadSession();
const headers: Record<string, string> = {};
if (session.key) headers["x-api-key"] = session.key;
if (session.org) headers["x-org-id"] = session.org;

const examples: Tab[] = JSON.parse(document.getElementById("ig-examples")?.textContent || "[]");
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
// Our own graphql-ws client: the key travels in connection_init (browsers cannot set WebSocket headers).
const wsClient = createClient({ url: wsUrl, connectionParams: headers, lazy: true });
const fetcher = GraphiQL.createFetcher({ url: "/graphql", wsClient });
const explorer = GraphiQLPluginExplorer.explorerPlugin();

ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher,
    plugins: [explorer],
    defaultHeaders: JSON.stringify("x-api-key" in headers ? headers : { "x-api-key": "ig_..." }, null, 2),
    defaultTabs: examples.length ? examples.map((t) => ({ query: t.query, variables: t.variables })) : undefined,
    defaultQuery: examples[0]?.query,
    shouldPersistHeaders: false,
  }),
);
