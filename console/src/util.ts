// Small helpers shared by the views: instants, CSV, downloads.

/** Parse an instant typed by a person: ISO 8601 (a date alone means 00:00 UTC). null: empty; NaN: invalid. */
export function parseInstant(text: string | null | undefined): number | null {
  const t = (text || "").trim();
  if (!t) return null;
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? NaN : ms;
}

export function iso(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined || ms === "") return "";
  const d = typeof ms === "number" ? new Date(ms) : new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace(".000Z", "Z");
}

/** A timestamp for tables: UTC, seconds. */
export function show(ts: string | null | undefined): string {
  if (!ts) return "";
  return iso(ts).replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function cell(v: unknown): string {
  const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\n") + "\n";
}

export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}

export function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
