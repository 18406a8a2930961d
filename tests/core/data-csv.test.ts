import { describe, expect, test } from "vitest";
import { CsvError, parseCsv } from "../../core/data/csv.ts";
import type { Dataset } from "../../core/data/dataset.ts";

function classes(d: Dataset): { names: readonly string[]; values: number[] } {
  if (d.labels.kind !== "classes") throw new Error("expected class labels");
  return { names: d.labels.classes, values: [...d.labels.values] };
}

/** The CsvError thrown by `fn`, to check its fields. */
function csvError(fn: () => unknown): CsvError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CsvError) return e;
    throw e;
  }
  throw new Error("expected a CsvError");
}

describe("parseCsv", () => {
  test("features in header order, class names sorted", () => {
    const d = parseCsv("x1,x2,label\n1,2,dog\n3,4.5,cat\n-5,6e-1,dog\n", { label: "label", name: "pets" });
    expect(d.name).toBe("pets");
    expect(d.shape).toEqual([3, 2]);
    expect([...d.features]).toEqual([1, 2, 3, 4.5, -5, Math.fround(0.6)]);
    expect(classes(d)).toEqual({ names: ["cat", "dog"], values: [1, 0, 1] });
    expect(d.inputShape).toBeUndefined();
  });

  test("the label column may be anywhere; other columns keep their order", () => {
    const d = parseCsv("a,y,b,c\n1,x,2,3\n4,z,5,6\n", { label: "y" });
    expect([...d.features]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(classes(d)).toEqual({ names: ["x", "z"], values: [0, 1] });
  });

  test("numeric labels are sorted numerically and named by value", () => {
    // Sorted as strings this would be "10" < "2" < "9"; numerically 2 < 9 < 10. "2.0" is class "2".
    const d = parseCsv("f,y\n0,10\n1,9\n2,2\n3,2.0\n4,10\n", { label: "y" });
    expect(classes(d)).toEqual({ names: ["2", "9", "10"], values: [2, 1, 0, 0, 2] });
  });

  test("mixed numeric and text labels are sorted as strings", () => {
    const d = parseCsv("f,y\n0,b\n1,10\n2,9\n", { label: "y" });
    expect(classes(d)).toEqual({ names: ["10", "9", "b"], values: [2, 0, 1] });
  });

  test("regression targets", () => {
    const d = parseCsv("x,price\n1,2.5\n2,-1e3\n", { label: "price", task: "regression" });
    expect(d.labels).toEqual({ kind: "targets", values: new Float32Array([2.5, -1000]), width: 1 });
    expect([...d.features]).toEqual([1, 2]);
  });

  test("quoted fields: commas, escaped quotes, line breaks, quoted numbers", () => {
    const text = '"width, cm","h",species\n"1.5",2,"say ""hi"""\n3," 4 ","two\nlines"\n';
    const d = parseCsv(text, { label: "species" });
    expect([...d.features]).toEqual([1.5, 2, 3, 4]);
    expect(classes(d)).toEqual({ names: ['say "hi"', "two\nlines"], values: [0, 1] });
  });

  test("CRLF, lone CR, BOM, blank lines and a missing trailing newline", () => {
    const expected = parseCsv("a,y\n1,p\n2,q\n", { label: "y" });
    for (const text of ["\ufeffa,y\r\n1,p\r\n2,q\r\n", "a,y\r1,p\r2,q", "a,y\n\n1,p\n\r\n2,q\n\n\n", "\n a , y \n1,p\n2,q"]) {
      const d = parseCsv(text, { label: "y" });
      expect(d.features).toEqual(expected.features);
      expect(d.labels).toEqual(expected.labels);
    }
  });

  test("surrounding spaces in cells are ignored", () => {
    const d = parseCsv("a, y\n 1 , p \n", { label: "y" });
    expect([...d.features]).toEqual([1]);
    expect(classes(d).names).toEqual(["p"]);
  });
});

describe("parseCsv errors name the line and the column", () => {
  test("empty text or header only", () => {
    for (const text of ["", "\n\r\n", "\ufeff"]) {
      const e = csvError(() => parseCsv(text, { label: "y" }));
      expect(e.code).toBe("empty");
      expect(e.message).toBe("Cannot parse CSV: the text is empty (no header row)");
    }
    const e = csvError(() => parseCsv("a,y\n", { label: "y" }));
    expect(e.code).toBe("empty");
    expect(e.message).toBe("Cannot parse CSV: the file has a header but no data rows");
  });

  test("unknown label column lists the columns", () => {
    const e = csvError(() => parseCsv("a,b\n1,2\n", { label: "target" }));
    expect(e.code).toBe("unknown-label");
    expect(e.message).toBe(
      "Cannot parse CSV: 'label' must name a column of the header, current value is 'target'; the columns are 'a', 'b'",
    );
    expect(e.line).toBe(1);
  });

  test("ragged rows", () => {
    const e = csvError(() => parseCsv("a,b,y\n1,2,p\n3,p\n", { label: "y" }));
    expect(e.code).toBe("ragged");
    expect(e.line).toBe(3);
    expect(e.message).toBe("Cannot parse CSV: line 3 has 2 cells, the header has 3");
    expect(csvError(() => parseCsv("a,y\n1,p,\n", { label: "y" })).message).toBe(
      "Cannot parse CSV: line 2 has 3 cells, the header has 2",
    );
  });

  test("missing values, in a feature or in the label", () => {
    const e = csvError(() => parseCsv("a,b,y\n1,2,p\n3,,p\n", { label: "y" }));
    expect(e.code).toBe("missing");
    expect([e.line, e.column]).toEqual([3, "b"]);
    expect(e.message).toBe("Cannot parse CSV: line 3, column 'b' (2): missing value (empty cell)");
    const l = csvError(() => parseCsv("a,y\r\n1,p\r\n2, \r\n", { label: "y" }));
    expect([l.code, l.line, l.column]).toEqual(["missing", 3, "y"]);
  });

  test("non-numeric features: words, NaN, Infinity, hex, float32 overflow", () => {
    const e = csvError(() => parseCsv("a,b,y\n1,abc,p\n", { label: "y" }));
    expect(e.code).toBe("not-numeric");
    expect(e.message).toBe("Cannot parse CSV: line 2, column 'b' (2): 'abc' is not a number");
    for (const cell of ["NaN", "Infinity", "0x10", "1,5", "1e", "--1"]) {
      const bad = csvError(() => parseCsv(`a,y\n"${cell}",p\n`, { label: "y" }));
      expect(bad.code).toBe("not-numeric");
      expect(bad.message).toBe(`Cannot parse CSV: line 2, column 'a' (1): '${cell}' is not a number`);
    }
    // 1e39 > 3.4028e38, the largest float32.
    expect(csvError(() => parseCsv("a,y\n1e39,p\n", { label: "y" })).message).toBe(
      "Cannot parse CSV: line 2, column 'a' (1): '1e39' is outside the float32 range",
    );
  });

  test("line numbers count the line breaks inside quoted fields", () => {
    // Row 1 spans lines 2–3 ("multi\nline"), so the bad row is on line 4.
    const e = csvError(() => parseCsv('a,y\n1,"multi\nline"\nx,b\n', { label: "y" }));
    expect([e.line, e.column]).toEqual([4, "a"]);
    const crlf = csvError(() => parseCsv('a,y\r\n1,"multi\r\nline"\r\nx,b\r\n', { label: "y" }));
    expect(crlf.line).toBe(4);
  });

  test("regression targets must be numbers", () => {
    const e = csvError(() => parseCsv("a,y\n1,2\n2,high\n", { label: "y", task: "regression" }));
    expect(e.message).toBe("Cannot parse CSV: line 3, column 'y' (2): 'high' is not a number");
  });

  test("quotes: unclosed, text after the closing quote", () => {
    const open = csvError(() => parseCsv('a,y\n1,"p\n2,q\n', { label: "y" }));
    expect([open.code, open.line]).toEqual(["quote", 2]);
    expect(open.message).toBe("Cannot parse CSV: line 2 opens a quoted field that is never closed");
    const after = csvError(() => parseCsv('a,y\n1,"p"x\n', { label: "y" }));
    expect(after.message).toBe(
      "Cannot parse CSV: line 2 has 'x' after a closing quote; a quoted field must end at a comma or a line end",
    );
  });

  test("bad headers: repeated name, label only", () => {
    const dup = csvError(() => parseCsv("a,b,a,y\n1,2,3,p\n", { label: "y" }));
    expect([dup.code, dup.message]).toEqual(["header", "Cannot parse CSV: the header names column 'a' twice (column 3)"]);
    const only = csvError(() => parseCsv("y\np\n", { label: "y" }));
    expect(only.message).toBe("Cannot parse CSV: the header has no feature column besides the label 'y'");
  });

  test("limits: maxRows, maxColumns, maxCells", () => {
    const text = "a,b,y\n1,2,p\n3,4,q\n5,6,p\n";
    expect(parseCsv(text, { label: "y", maxRows: 3 }).shape).toEqual([3, 2]);
    const rows = csvError(() => parseCsv(text, { label: "y", maxRows: 2 }));
    expect([rows.code, rows.line, rows.message]).toEqual([
      "limit",
      4,
      "Cannot parse CSV: more than 'maxRows' = 2 data rows (line 4)",
    ]);
    expect(csvError(() => parseCsv(text, { label: "y", maxColumns: 2 })).message).toBe(
      "Cannot parse CSV: the header has 3 columns, over 'maxColumns' = 2",
    );
    // 3 rows × 2 features = 6 cells.
    expect(parseCsv(text, { label: "y", maxCells: 6 }).shape).toEqual([3, 2]);
    expect(csvError(() => parseCsv(text, { label: "y", maxCells: 5 })).code).toBe("limit");
  });

  test("options are validated", () => {
    expect(() => parseCsv("a,y\n1,p\n", {} as never)).toThrow(
      new TypeError("Cannot parse CSV: 'label' must be a non-empty column name, current value is undefined"),
    );
    expect(() => parseCsv("a,y\n1,p\n", { label: "y", maxRows: 0 })).toThrow(
      new RangeError("Cannot parse CSV: 'maxRows' must be an integer ≥ 1, current value is 0"),
    );
    expect(() => parseCsv("a,y\n1,p\n", { label: "y", maxColumns: "9" as never })).toThrow(TypeError);
    expect(() => parseCsv("a,y\n1,p\n", { label: "y", task: "ranking" as never })).toThrow(
      new RangeError(`Cannot parse CSV: 'task' must be "classification" or "regression", current value is "ranking"`),
    );
    expect(() => parseCsv(42 as never, { label: "y" })).toThrow(TypeError);
  });
});

test("a larger file grows its buffers and keeps every value", () => {
  // 5,000 rows × 20 features > the initial 65,536-value buffer.
  const m = 5000, n = 20;
  const lines = [[...Array.from({ length: n }, (_, j) => `f${j}`), "y"].join(",")];
  for (let i = 0; i < m; i++) lines.push([...Array.from({ length: n }, (_, j) => String(i * n + j)), String(i % 7)].join(","));
  const d = parseCsv(lines.join("\n"), { label: "y" });
  expect(d.shape).toEqual([m, n]);
  for (let k = 0; k < m * n; k++) if (d.features[k] !== k) throw new Error(`feature ${k} is ${d.features[k]}`);
  expect(classes(d).names).toEqual(["0", "1", "2", "3", "4", "5", "6"]);
  expect(d.features.length).toBe(m * n);
});
