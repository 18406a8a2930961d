/**
 * CSV with a header row to a {@link Dataset}: one column holds the label, every other column is a
 * numeric feature. RFC 4180 quoting ("a,b", "say ""hi"""), LF, CRLF or CR line ends, an optional
 * UTF-8 byte-order mark and an optional trailing newline are accepted; empty lines are skipped.
 */
import type { Dataset, Labels } from "./dataset.ts";

/** Default limits of {@link parseCsv}; an upload is also bounded by its byte size. */
export const CSV_LIMITS = {
  /** Data rows (the header excluded). */
  maxRows: 1_000_000,
  /** Columns, the label column included (MNIST as CSV has 785). */
  maxColumns: 10_000,
  /** Feature cells, rows × features: 10⁸ float32 values are 400 MB. */
  maxCells: 100_000_000,
} as const;

export interface CsvOptions {
  /** Name of the label column, as written in the header (surrounding spaces ignored). */
  readonly label: string;
  /** `"classification"` (default): labels are class names or numbers. `"regression"`: numeric targets. */
  readonly task?: "classification" | "regression";
  /** Name of the dataset; default `"csv"`. */
  readonly name?: string;
  /** At most this many data rows; default {@link CSV_LIMITS}.maxRows. */
  readonly maxRows?: number;
  /** At most this many columns; default {@link CSV_LIMITS}.maxColumns. */
  readonly maxColumns?: number;
  /** At most this many feature cells (rows × features); default {@link CSV_LIMITS}.maxCells. */
  readonly maxCells?: number;
}

export type CsvErrorCode =
  | "empty"
  | "header"
  | "unknown-label"
  | "ragged"
  | "missing"
  | "not-numeric"
  | "quote"
  | "limit";

/**
 * A CSV that cannot be read as a dataset. `line` is the 1-based line of the file where the offending
 * row starts (the header is line 1) and `column` the header name of the offending cell, when known.
 * `code` "limit" means the file is over one of the limits (an HTTP server answers 413).
 */
export class CsvError extends Error {
  override readonly name = "CsvError";
  readonly code: CsvErrorCode;
  readonly line: number | undefined;
  readonly column: string | undefined;

  constructor(code: CsvErrorCode, message: string, where: { line?: number; column?: string } = {}) {
    super(message);
    this.code = code;
    this.line = where.line;
    this.column = where.column;
  }
}

// A plain decimal number, as written by spreadsheets and numpy: no hex, no "Infinity", no "NaN".
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function checkLimit(options: CsvOptions, field: "maxRows" | "maxColumns" | "maxCells"): number {
  const value = options[field];
  if (value === undefined) return CSV_LIMITS[field];
  if (typeof value !== "number") {
    throw new TypeError(`Cannot parse CSV: '${field}' must be a number, current value is ${String(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Cannot parse CSV: '${field}' must be an integer ≥ 1, current value is ${value}`);
  }
  return value;
}

/** Number of line breaks (LF, CRLF or lone CR) in `text`. */
function lineBreaks(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) count++;
  }
  return count;
}

/**
 * Calls `onRow(cells, line)` for every record of `text`, `line` being the 1-based line where the
 * record starts. Empty lines are skipped; `""` alone on a line is a record with one empty cell.
 */
function readRecords(text: string, onRow: (cells: string[], line: number) => void): void {
  const length = text.length;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  for (;;) {
    // Skip empty lines (this also drops the trailing newline).
    while (pos < length) {
      const c = text.charCodeAt(pos);
      if (c === 0x0a) line++;
      else if (c === 0x0d) {
        if (text.charCodeAt(pos + 1) === 0x0a) pos++;
        line++;
      } else break;
      pos++;
    }
    if (pos >= length) return;
    const startLine = line;
    const cells: string[] = [];
    for (;;) {
      if (text.charCodeAt(pos) === 0x22 /* " */) {
        const quoteLine = line;
        let cell = "";
        pos++;
        for (;;) {
          const close = text.indexOf('"', pos);
          if (close === -1) {
            throw new CsvError("quote", `Cannot parse CSV: line ${quoteLine} opens a quoted field that is never closed`, {
              line: quoteLine,
            });
          }
          const chunk = text.slice(pos, close);
          line += lineBreaks(chunk);
          cell += chunk;
          if (text.charCodeAt(close + 1) !== 0x22) {
            pos = close + 1;
            break;
          }
          cell += '"';
          pos = close + 2;
        }
        const next = text.charCodeAt(pos);
        if (pos < length && next !== 0x2c && next !== 0x0a && next !== 0x0d) {
          throw new CsvError(
            "quote",
            `Cannot parse CSV: line ${line} has '${text[pos]}' after a closing quote; a quoted field must end at a comma or a line end`,
            { line },
          );
        }
        cells.push(cell);
      } else {
        let end = pos;
        while (end < length) {
          const c = text.charCodeAt(end);
          if (c === 0x2c || c === 0x0a || c === 0x0d) break;
          end++;
        }
        cells.push(text.slice(pos, end));
        pos = end;
      }
      // pos is at a comma, a line end or the end of the text.
      if (pos < length && text.charCodeAt(pos) === 0x2c) {
        pos++;
        continue;
      }
      break;
    }
    onRow(cells, startLine);
  }
}

/**
 * Parses CSV `text` (header row first) into a dataset. The column named `options.label` becomes the
 * labels; every other column must hold a decimal number in every row and becomes a float32 feature,
 * in header order. Classification: the distinct label values, sorted (numerically when every one is a
 * number, else by code unit), become classes 0..K-1; numeric labels are named by their value ("1.0"
 * and "1" are class "1"). Regression: each label must be a number and becomes a target of width 1.
 * Throws {@link CsvError} naming the line (1-based, header = line 1) and column for: an empty file, a
 * header without feature columns or with a repeated name, an unknown label column, a row with the wrong
 * number of cells, an empty cell, a non-numeric feature (or regression target), a value outside the
 * float32 range, an unclosed quote, and a file over `maxRows`, `maxColumns` or `maxCells`.
 */
export function parseCsv(text: string, options: CsvOptions): Dataset {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse CSV: 'text' must be a string, current value is ${typeof text}`);
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot parse CSV: 'options' must be an object, current value is ${String(options)}`);
  }
  if (typeof options.label !== "string" || options.label.trim() === "") {
    throw new TypeError(
      `Cannot parse CSV: 'label' must be a non-empty column name, current value is ${JSON.stringify(options.label)}`,
    );
  }
  const task = options.task ?? "classification";
  if (task !== "classification" && task !== "regression") {
    throw new RangeError(
      `Cannot parse CSV: 'task' must be "classification" or "regression", current value is ${JSON.stringify(task)}`,
    );
  }
  const name = options.name ?? "csv";
  if (typeof name !== "string") {
    throw new TypeError(`Cannot parse CSV: 'name' must be a string, current value is ${typeof name}`);
  }
  const maxRows = checkLimit(options, "maxRows");
  const maxColumns = checkLimit(options, "maxColumns");
  const maxCells = checkLimit(options, "maxCells");
  const labelName = options.label.trim();

  const regression = task === "regression";
  let header: string[] | null = null;
  let labelColumn = -1;
  let n = 0;
  let rows = 0;
  let features = new Float32Array(0);
  let targets = new Float32Array(0);
  const labelText: string[] = [];

  const cellError = (code: CsvErrorCode, line: number, column: number, what: string): CsvError => {
    const columnName = header![column];
    return new CsvError(code, `Cannot parse CSV: line ${line}, column '${columnName}' (${column + 1}): ${what}`, {
      line,
      column: columnName,
    });
  };
  const parseNumber = (cell: string, line: number, column: number): number => {
    if (!NUMBER.test(cell)) throw cellError("not-numeric", line, column, `'${cell}' is not a number`);
    const value = Math.fround(Number(cell));
    if (!Number.isFinite(value)) throw cellError("not-numeric", line, column, `'${cell}' is outside the float32 range`);
    return value;
  };

  readRecords(text, (cells, line) => {
    if (header === null) {
      if (cells.length > maxColumns) {
        throw new CsvError(
          "limit",
          `Cannot parse CSV: the header has ${cells.length} columns, over 'maxColumns' = ${maxColumns}`,
          { line },
        );
      }
      header = cells.map((c) => c.trim());
      const seen = new Set<string>();
      for (const [i, h] of header.entries()) {
        if (seen.has(h)) {
          throw new CsvError("header", `Cannot parse CSV: the header names column '${h}' twice (column ${i + 1})`, {
            line,
            column: h,
          });
        }
        seen.add(h);
      }
      labelColumn = header.indexOf(labelName);
      if (labelColumn === -1) {
        const known = header.map((h) => `'${h}'`).join(", ");
        throw new CsvError(
          "unknown-label",
          `Cannot parse CSV: 'label' must name a column of the header, current value is '${labelName}'; the columns are ${known}`,
          { line, column: labelName },
        );
      }
      n = header.length - 1;
      if (n === 0) {
        throw new CsvError("header", `Cannot parse CSV: the header has no feature column besides the label '${labelName}'`, {
          line,
        });
      }
      return;
    }
    if (cells.length !== header.length) {
      throw new CsvError(
        "ragged",
        `Cannot parse CSV: line ${line} has ${cells.length} cells, the header has ${header.length}`,
        { line },
      );
    }
    if (rows === maxRows) {
      throw new CsvError("limit", `Cannot parse CSV: more than 'maxRows' = ${maxRows} data rows (line ${line})`, { line });
    }
    if ((rows + 1) * n > maxCells) {
      throw new CsvError(
        "limit",
        `Cannot parse CSV: more than 'maxCells' = ${maxCells} feature cells (line ${line}, ${n} features per row)`,
        { line },
      );
    }
    if ((rows + 1) * n > features.length) {
      // Amortized doubling, never past maxCells (which the check above keeps ≥ the need).
      const grown = new Float32Array(Math.min(Math.max(2 * features.length, 1 << 16, (rows + 1) * n), maxCells));
      grown.set(features);
      features = grown;
    }
    if (regression && rows === targets.length) {
      const grown = new Float32Array(Math.max(2 * targets.length, 1024));
      grown.set(targets);
      targets = grown;
    }
    let f = rows * n;
    for (let j = 0; j < cells.length; j++) {
      const cell = cells[j].trim();
      if (cell === "") throw cellError("missing", line, j, "missing value (empty cell)");
      if (j !== labelColumn) features[f++] = parseNumber(cell, line, j);
      else if (regression) targets[rows] = parseNumber(cell, line, j);
      else labelText.push(cell);
    }
    rows++;
  });

  if (header === null) throw new CsvError("empty", "Cannot parse CSV: the text is empty (no header row)");
  if (rows === 0) throw new CsvError("empty", "Cannot parse CSV: the file has a header but no data rows", { line: 2 });

  const labels: Labels = regression
    ? { kind: "targets", values: targets.slice(0, rows), width: 1 }
    : classLabels(labelText);
  return { name, features: features.slice(0, rows * n), shape: [rows, n], labels };
}

/** Class indices of label strings: numeric labels sorted by value, others by code unit. */
function classLabels(labelText: readonly string[]): Labels {
  const distinct = [...new Set(labelText)];
  const numeric = distinct.every((s) => NUMBER.test(s) && Number.isFinite(Number(s)));
  const keyOf = numeric ? (s: string) => String(Number(s)) : (s: string) => s;
  let classes = [...new Set(distinct.map(keyOf))];
  classes = numeric
    ? classes.sort((a, b) => Number(a) - Number(b))
    : classes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map<string, number>(classes.map((c, i) => [c, i]));
  const values = new Int32Array(labelText.length);
  for (let i = 0; i < labelText.length; i++) values[i] = index.get(keyOf(labelText[i]))!;
  return { kind: "classes", values, classes };
}
