// Borderless, left-aligned tables: each cell padded to its column's width plus one space.
export interface TableOptions {
  noHeader?: boolean;
  /** Cut cells longer than this many characters and append "...". */
  trimAt?: number;
}

export function renderTable(headers: string[], rows: string[][], opts: TableOptions = {}): string {
  const cut = (s: string) => (opts.trimAt && s.length > opts.trimAt ? `${s.slice(0, opts.trimAt)}...` : s);
  const body = rows.map((r) => r.map((c) => cut(c ?? "")));
  const all = opts.noHeader ? body : [headers, ...body];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all.map((r) => r.map((c, i) => (c ?? "").padEnd(widths[i]!) + " ").join("") + "\n").join("");
}
