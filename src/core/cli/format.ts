// `-o/--format` of cqueue, cinfo and cacct: `%[.][width]<key>`, e.g. `%.10j %-5t %n`.
//
// A key is a letter (case-sensitive: `%s` and `%S` differ) or a long name (case-insensitive: `%JobId`); letters are
// greedy, so `%jn` is the key `jn`, not `%j` then `n`. A width pads the cell and cuts a longer one; `.` aligns it
// right, `-` (the default) left. Text between specs is printed as it is, so `%j %n` separates the columns by one
// space and `%j|%n` by a bar. The header of a column is its long name in upper case.
import { CliError, ExitCode } from "./errors";

export interface FormatColumn<T, C = void> {
  letter: string;
  name: string;
  value: (row: T, ctx: C) => string;
}

export type FormatItem<T, C = void> = { text: string } | { column: FormatColumn<T, C>; width?: number; right: boolean };

/** The keys of a column set as `j/jobid, n/name, ...`, for help and errors. */
export function formatKeys<T, C>(columns: readonly FormatColumn<T, C>[]): string {
  return columns.map((c) => `${c.letter}/${c.name}`).join(", ");
}

export function columnByKey<T, C>(columns: readonly FormatColumn<T, C>[], key: string): FormatColumn<T, C> | undefined {
  if (key.length === 1) return columns.find((c) => c.letter === key);
  return columns.find((c) => c.name === key.toLowerCase());
}

/** Parses a format string; an unknown key, or a string without any spec, is an InvalidFormat error (exit 5). */
export function parseFormat<T, C>(format: string, columns: readonly FormatColumn<T, C>[]): FormatItem<T, C>[] {
  const items: FormatItem<T, C>[] = [];
  const spec = /%([.-]?)(\d*)([A-Za-z]+)/g;
  let last = 0;
  for (let m = spec.exec(format); m; m = spec.exec(format)) {
    const [whole, align, width, key] = m;
    const column = columnByKey(columns, key!);
    if (!column) throw new CliError(`invalid format specifier: ${key} in "${whole}" (valid keys: ${formatKeys(columns)})`, ExitCode.InvalidFormat);
    if (m.index > last) items.push({ text: format.slice(last, m.index) });
    items.push({ column, width: width ? Number(width) : undefined, right: align === "." });
    last = m.index + whole.length;
  }
  if (!items.some((i) => "column" in i)) {
    throw new CliError(`invalid format specifier: "${format}" has no %KEY (valid keys: ${formatKeys(columns)})`, ExitCode.InvalidFormat);
  }
  if (last < format.length) items.push({ text: format.slice(last) });
  return items;
}

function fit(s: string, width: number, right: boolean): string {
  const cut = s.length > width ? s.slice(0, width) : s;
  return right ? cut.padStart(width) : cut.padEnd(width);
}

/** The rows as lines of the format (with a header line unless `noHeader`); a column without a width is as wide as its widest cell. */
export function renderFormat<T, C>(items: FormatItem<T, C>[], rows: readonly T[], ctx: C, opts: { noHeader?: boolean } = {}): string {
  const header = items.map((i) => ("text" in i ? i.text : i.column.name.toUpperCase()));
  const cells = rows.map((r) => items.map((i) => ("text" in i ? i.text : i.column.value(r, ctx))));
  const all = opts.noHeader ? cells : [header, ...cells];
  const widths = items.map((item, k) => ("text" in item ? 0 : (item.width ?? Math.max(...all.map((r) => r[k]!.length)))));
  return all
    .map((r) =>
      r
        .map((cell, k) => {
          const item = items[k]!;
          return "column" in item && widths[k] ? fit(cell, widths[k], item.right) : cell;
        })
        .join("")
        .trimEnd(),
    )
    .join("\n");
}
