// GraphiQL with the explorer plugin, bundled (no CDN). A key the console signed in with (this tab's
// sessionStorage, same origin) is put in the headers so the schema loads at once; otherwise add it in Headers.
import { explorerPlugin } from "@graphiql/plugin-explorer";
import "@graphiql/plugin-explorer/dist/style.css";
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import "./graphiql.css";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { loadSession } from "./session";

type Tab = { query: string; variables?: string };

const session = loadSession();
const headers: Record<string, string> = {};
if (session.key) headers["x-api-key"] = session.key;
if (session.org) headers["x-org-id"] = session.org;

const examples: Tab[] = JSON.parse(document.getElementById("ig-examples")?.textContent || "[]");
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
const fetcher = createGraphiQLFetcher({ url: "/graphql", subscriptionUrl: wsUrl, wsConnectionParams: headers });
const explorer = explorerPlugin();

createRoot(document.getElementById("graphiql")!).render(
  createElement(GraphiQL, {
    fetcher,
    plugins: [explorer],
    defaultHeaders: JSON.stringify(headers.hasOwnProperty("x-api-key") ? headers : { "x-api-key": "ig_..." }, null, 2),
    defaultTabs: examples.length ? examples.map((t) => ({ query: t.query, variables: t.variables })) : undefined,
    defaultQuery: examples[0]?.query,
    shouldPersistHeaders: false,
  }),
);
