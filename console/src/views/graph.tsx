// The access graph at an instant (Cytoscape.js): user -> groups -> (system groups) -> systems and applications.
// Every edge is a hop of a grant path; clicking it (or its row in the list below, by keyboard) explains it.
import cytoscape from "cytoscape";
import { useEffect, useRef } from "preact/hooks";
import type { Ref } from "../components";

export type EventSummary = {
  id: string; timestamp: string; eventType: string; clientIp: string | null; country: string | null;
  initiator: { type: string; email: string | null; username: string | null } | null;
};
export type Hop = {
  source: Ref; target: Ref; relationship: string; since: string; until: string | null;
  grantedByEvent: string; grantedBy: EventSummary | null; revokedBy: EventSummary | null;
};
export type GraphEdge = { id: string; hop: Hop };

export const HOP_FIELDS = `source { label type id name } target { label type id name } relationship since until
  grantedByEvent grantedBy { id timestamp eventType clientIp country initiator { type email username } }
  revokedBy { id timestamp eventType clientIp country initiator { type email username } }`;

export function edgesOf(paths: { hops: Hop[] }[]): GraphEdge[] {
  const seen = new Map<string, GraphEdge>();
  for (const p of paths)
    for (const h of p.hops) {
      const id = `${h.source.id}|${h.relationship}|${h.target.id}`;
      if (!seen.has(id)) seen.set(id, { id, hop: h });
    }
  return [...seen.values()].sort((a, b) => a.id.localeCompare(b.id));
}

const COLORS: Record<string, string> = {
  User: "#1f5fbf", Group: "#7a4fc0", System: "#0f7b6c", Application: "#b35c00",
};

export function AccessGraph({ user, edges, selected, onSelect }: {
  user: Ref; edges: GraphEdge[]; selected: string | null; onSelect: (id: string) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<cytoscape.Core | null>(null);
  useEffect(() => {
    const nodes = new Map<string, Ref>([[user.id, user]]);
    for (const e of edges) {
      nodes.set(e.hop.source.id, e.hop.source);
      nodes.set(e.hop.target.id, e.hop.target);
    }
    const elements: cytoscape.ElementDefinition[] = [
      ...[...nodes.values()].map((n) => ({
        data: { id: n.id, label: n.name || n.id, kind: n.type, color: COLORS[n.label] || "#555" },
      })),
      ...edges.map((e) => ({
        data: { id: e.id, source: e.hop.source.id, target: e.hop.target.id,
                label: e.hop.relationship === "MEMBER_OF" ? "member of" : "grants" },
      })),
    ];
    const c = cytoscape({
      container: box.current!, elements, userZoomingEnabled: true, boxSelectionEnabled: false,
      layout: { name: "breadthfirst", directed: true, roots: [user.id], spacingFactor: 1.1, padding: 24 },
      style: [
        { selector: "node", style: { label: "data(label)", "background-color": "data(color)", color: "#222",
          "font-size": 12, "text-valign": "bottom", "text-margin-y": 4, width: 22, height: 22 } },
        { selector: "edge", style: { width: 3, "line-color": "#9aa4b2", "target-arrow-color": "#9aa4b2",
          "target-arrow-shape": "triangle", "curve-style": "bezier", label: "data(label)", "font-size": 10,
          "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 1 } },
        { selector: "edge:selected", style: { "line-color": "#d33", "target-arrow-color": "#d33", width: 5 } },
      ],
    });
    c.on("tap", "edge", (evt) => onSelect(evt.target.id()));
    c.on("tap", "node", (evt) => {
      const n = nodes.get(evt.target.id());
      if (n && n.id !== user.id && (n.label === "System" || n.label === "Application"))
        window.dispatchEvent(new CustomEvent("insightgraph:open", { detail: `/resources/${encodeURIComponent(n.id)}` }));
    });
    cy.current = c;
    (box.current as any).cy = c; // for the browser tests, which click an edge where it is drawn
    return () => c.destroy();
  }, [user.id, edges.map((e) => e.id).join(",")]);
  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    c.edges().unselect();
    if (selected) c.getElementById(selected).select();
  }, [selected, cy.current]);
  return <div class="graph" ref={box} role="img" aria-label={`Access graph: ${edges.length} edges`}
              data-edges={edges.map((e) => e.id).join(",")} />;
}
